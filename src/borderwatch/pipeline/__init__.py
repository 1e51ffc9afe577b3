"""The pipeline: NATS JetStream streams per agency and the workers that move declarations through ingest,
scoring and lanes on any number of machines (adapters around the stages before it)."""

__all__ = ["dead", "effects", "messages", "models", "publish", "selection", "status", "topology", "worker"]
