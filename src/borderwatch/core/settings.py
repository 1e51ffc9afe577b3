"""Runtime configuration, read from the environment (prefix ``BORDERWATCH_``) or a ``.env`` file."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every tunable of borderwatch in one place; pass an instance around instead of reading globals."""

    model_config = SettingsConfigDict(env_prefix="BORDERWATCH_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///borderwatch.db",
        description="SQLAlchemy URL: a SQLite file on a laptop, postgresql+psycopg://... in an agency.",
    )
    migration_database_url: str | None = Field(
        default=None,
        description="PostgreSQL: the URL of the role that owns the schema and runs the migrations, when "
        "database_url is the application's role (member of borderwatch_app), which may only INSERT and "
        "SELECT on the audit log and cannot change the schema. Unset: database_url migrates.",
    )
    agency: str = Field(default="default", description="Agency that owns records ingested by this process.")
    data_dir: Path = Field(default=Path("borderwatch-data"), description="Models, plots and exports.")
    ingest_batch_size: int = Field(default=5000, ge=1, description="Records per bulk insert.")
    explain_min_score: float = Field(
        default=90.0,
        ge=0.0,
        le=101.0,
        description="Declarations submitted over the API and scoring below this (and not forced to yellow or "
        "red by a risk profile) get the model's reasons (TreeSHAP, ~1 ms each) on their first read instead "
        "of at once; 0 explains every declaration at once. A score is 100 x the declaration's position in "
        "the model's training population (scoring.ranking), so 90 explains the riskiest tenth at once: more "
        "than the lanes' red and yellow capacity usually takes.",
    )
    intel_max_content_length: int = Field(
        default=16 * 1024 * 1024, ge=1024, description="Largest TAXII envelope accepted, in bytes."
    )
    random_seed: int = 42
    # What one HTTP client may make the server hold (web.limits; `borderwatch serve` applies them).
    http_max_json_bytes: int = Field(
        default=1 << 20, ge=1024, description="Largest request body of a JSON endpoint (or a form), bytes."
    )
    http_max_batch_bytes: int = Field(
        default=16 << 20, ge=1024, description="Largest body of POST /api/declarations/batch, bytes."
    )
    http_max_upload_bytes: int = Field(
        default=2 << 30, ge=1024, description="Largest file upload (streamed to disk), bytes."
    )
    http_header_timeout: float = Field(
        default=10.0, gt=0, description="Seconds a client has to send a request's headers in full."
    )
    http_body_timeout: float = Field(
        default=30.0, gt=0, description="Longest silence, seconds, while a client sends a request body."
    )
    http_limit_concurrency: int = Field(
        default=4000,
        ge=1,
        description="Open connections (or requests in progress) above which new "
        "requests are answered 503 at once.",
    )
    http_backlog: int = Field(default=2048, ge=1, description="Connections the kernel queues for accept().")
    http_keep_alive: int = Field(default=5, ge=1, description="Seconds an idle keep-alive connection lives.")
    # The NATS JetStream pipeline (borderwatch.pipeline; `borderwatch worker`, `borderwatch pipeline`).
    pipeline: Literal["inline", "nats"] = Field(
        default="inline",
        description="inline: the API scores a submitted declaration in the request (the laptop default); "
        "nats: it publishes the declaration to the agency's JetStream stream and answers 202 with where to "
        "read the result, and `borderwatch worker` processes take it from there.",
    )
    nats_url: str = Field(default="nats://127.0.0.1:4222", description="The NATS server(s), comma-separated.")
    pipeline_prefix: str = Field(
        default="bw",
        pattern=r"^[a-z][a-z0-9_]{0,31}$",
        description="First token of every pipeline subject and stream name (one deployment's namespace).",
    )
    pipeline_batch: int = Field(default=100, ge=1, le=10_000, description="Messages a worker takes at once.")
    pipeline_ack_wait: float = Field(
        default=60.0, gt=0, description="Seconds before an unacknowledged message goes to another worker."
    )
    pipeline_max_ack_pending: int = Field(
        default=2000,
        ge=1,
        description="Messages a stage's workers may hold unacknowledged together: the back-pressure bound.",
    )
    pipeline_max_deliver: int = Field(
        default=4, ge=1, description="Deliveries of a failing message before it is dead-lettered."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; tests build their own ``Settings`` instead."""
    return Settings()
