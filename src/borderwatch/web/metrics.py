"""Prometheus metrics of the API process, on a bind of their own (``borderwatch serve --metrics-port``).

Not on the workspace's port: an agency's monitoring scrapes from its own network, and the figures (traffic
per agency and lane, queue lag) are not for every workspace user. The metrics port binds to 127.0.0.1 unless
told otherwise and asks for no credentials (Prometheus' convention for exporters): open it only to the
monitoring network.

- ``borderwatch_http_requests_total{method, route, status}`` and ``borderwatch_http_request_duration_seconds
  {method, route}``: per route template (``/api/declarations/{lrn}``), so LRNs never become label values;
- ``borderwatch_http_errors_total{kind}``: responses 4xx (``client``) and 5xx (``server``);
- read from the database at each scrape (every API replica and worker writes there, so the figures are the
  deployment's, not this process's): ``borderwatch_declarations_today{agency}`` (current declarations dated
  today), ``borderwatch_lane_decisions_today{agency, lane}`` (current decisions of today's declarations, per
  lane: what was scored), ``borderwatch_model_info{agency, version}`` (the active model);
- with ``BORDERWATCH_PIPELINE=nats``, from JetStream: ``borderwatch_pipeline_pending{agency, stage, kind}``
  (not yet delivered to the stage: its lag), ``borderwatch_pipeline_ack_pending{...}`` (being worked on) and
  ``borderwatch_pipeline_dead_letters{agency}``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from borderwatch.core.settings import Settings
from borderwatch.ingest.models import DeclarationRow
from borderwatch.lanes.models import LaneDecisionRow
from borderwatch.scoring.models import RiskModelRow

__all__ = ["Metrics", "MetricsMiddleware"]

NATS_TIMEOUT = 2.0  # seconds a scrape waits for JetStream before leaving the pipeline's figures out


class _StateCollector(Collector):
    def __init__(self, *, settings: Settings, factory: sessionmaker[Session]) -> None:
        self.settings = settings
        self.factory = factory

    def collect(self) -> Iterator[Metric]:
        today = date.today()
        declarations = GaugeMetricFamily(
            "borderwatch_declarations_today", "Current declarations dated today", labels=["agency"]
        )
        decisions = GaugeMetricFamily(
            "borderwatch_lane_decisions_today",
            "Current lane decisions of declarations dated today, per lane",
            labels=["agency", "lane"],
        )
        models = GaugeMetricFamily(
            "borderwatch_model_info", "The active model of each agency", labels=["agency", "version"]
        )
        with self.factory() as session:
            for agency, count in session.execute(
                select(DeclarationRow.agency, func.count())
                .where(DeclarationRow.is_current, DeclarationRow.declared_on == today)
                .group_by(DeclarationRow.agency)
            ):
                declarations.add_metric([agency], count)
            for agency, lane, count in session.execute(
                select(LaneDecisionRow.agency, LaneDecisionRow.lane, func.count())
                .where(LaneDecisionRow.is_current, LaneDecisionRow.declared_on == today)
                .group_by(LaneDecisionRow.agency, LaneDecisionRow.lane)
            ):
                decisions.add_metric([agency, lane], count)
            agencies = {self.settings.agency}
            for agency, version in session.execute(
                select(RiskModelRow.agency, RiskModelRow.version).where(RiskModelRow.active)
            ):
                models.add_metric([agency, version], 1)
                agencies.add(agency)
        yield declarations
        yield decisions
        yield models
        if self.settings.pipeline == "nats":
            yield from self._pipeline(sorted(agencies))

    def _pipeline(self, agencies: list[str]) -> Iterator[Metric]:
        pending = GaugeMetricFamily(
            "borderwatch_pipeline_pending",
            "Messages of a stream not yet delivered to the stage that reads it (its lag)",
            labels=["agency", "stage", "kind"],
        )
        acking = GaugeMetricFamily(
            "borderwatch_pipeline_ack_pending",
            "Messages delivered to a stage and not yet acknowledged",
            labels=["agency", "stage", "kind"],
        )
        dead = GaugeMetricFamily(
            "borderwatch_pipeline_dead_letters", "Messages on the dead-letter subjects", labels=["agency"]
        )
        try:
            figures = asyncio.run(asyncio.wait_for(self._status(agencies), NATS_TIMEOUT))
        except Exception:  # NATS down or slow: the scrape answers without the pipeline's figures
            return
        for agency, status in figures:
            for consumer in status.consumers:
                labels = [agency, str(consumer.stage), str(consumer.kind)]
                pending.add_metric(labels, consumer.pending or 0)
                acking.add_metric(labels, consumer.ack_pending)
            dead.add_metric([agency], sum(s.messages or 0 for s in status.streams if str(s.kind) == "dead"))
        yield pending
        yield acking
        yield dead

    async def _status(self, agencies: list[str]) -> list[tuple[str, Any]]:
        import nats

        from borderwatch.pipeline.status import pipeline_status
        from borderwatch.pipeline.topology import Topology

        connection = await nats.connect(
            self.settings.nats_url, connect_timeout=NATS_TIMEOUT, max_reconnect_attempts=0
        )
        try:
            js = connection.jetstream()
            found = []
            for agency in agencies:
                topology = Topology(prefix=self.settings.pipeline_prefix, agency=agency)
                found.append((agency, await pipeline_status(js, topology)))
            return found
        finally:
            await connection.close()


class Metrics:
    """One process's registry: the HTTP figures the middleware counts and the state read at each scrape."""

    def __init__(self, *, settings: Settings, engine: Engine, factory: sessionmaker[Session]) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "borderwatch_http_requests",
            "HTTP requests answered, per route template and status",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "borderwatch_http_request_duration_seconds",
            "Time to answer an HTTP request, per route template",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
        )
        self.errors = Counter(
            "borderwatch_http_errors",
            "HTTP error responses: client (4xx) or server (5xx)",
            ["kind"],
            registry=self.registry,
        )
        self.registry.register(_StateCollector(settings=settings, factory=factory))
        self.engine = engine


def _template(scope: Scope) -> str:
    """The matched route's path template: FastAPI's effective route of an included router (its path holds
    the prefix), else the route's own; ``unmatched`` when no route answered."""
    effective = (scope.get("fastapi") or {}).get("effective_route_context")
    path = getattr(effective, "path_format", None) or getattr(scope.get("route"), "path", None)
    return str(path) if path else "unmatched"


class MetricsMiddleware:
    """Counts and times every HTTP request by its route template (``unmatched`` for paths no route knows)."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        begun = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            template = _template(scope)
            method = str(scope.get("method", ""))
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - begun)
            if status >= 500:
                self.metrics.errors.labels("server").inc()
            elif status >= 400:
                self.metrics.errors.labels("client").inc()
