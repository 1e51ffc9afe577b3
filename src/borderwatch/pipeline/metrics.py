"""A worker's Prometheus metrics (``borderwatch worker --metrics-port``): what this process did, read from
its running :class:`~borderwatch.pipeline.worker.Counts` at each scrape. The lag of each stage is the API's
(``web.metrics``: ``borderwatch_pipeline_pending``), read from JetStream, not from any one worker."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from borderwatch.pipeline.topology import Stage
from borderwatch.pipeline.worker import Counts

__all__ = ["worker_registry"]


class _CountsCollector(Collector):
    def __init__(self, counts: Counts, *, agency: str, stages: Sequence[Stage]) -> None:
        self.counts = counts
        self.labels = [agency, ",".join(sorted(str(s) for s in stages))]

    def collect(self) -> Iterator[Metric]:
        for name, documentation, value in (
            ("borderwatch_worker_batches", "Batches fetched and processed", self.counts.batches),
            ("borderwatch_worker_messages_processed", "Messages processed", self.counts.processed),
            ("borderwatch_worker_messages_retried", "Messages retried one by one", self.counts.retried),
            ("borderwatch_worker_messages_dead_lettered", "Messages sent to dead letters", self.counts.dead),
        ):
            family = CounterMetricFamily(name, documentation, labels=["agency", "stages"])
            family.add_metric(self.labels, value)
            yield family


def worker_registry(counts: Counts, *, agency: str, stages: Sequence[Stage]) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_CountsCollector(counts, agency=agency, stages=stages))
    return registry
