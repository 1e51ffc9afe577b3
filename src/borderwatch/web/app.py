"""The application factory: ``create_app(settings)`` builds the API and the workspace on one database.

Nothing is created at import time; the engine belongs to the application built from the settings given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline

from borderwatch.core.settings import Settings
from borderwatch.db.session import engine_from_settings, migrate_for, session_factory
from borderwatch.ledger.keys import KeyStore
from borderwatch.ledger.writer import WriterPool
from borderwatch.web import errors
from borderwatch.web.api import (
    cases,
    declarations,
    health,
    intel,
    lanes,
    ledger,
    me,
    models,
    monitoring,
    pipeline,
    profiles,
    quarantine,
    screening,
    uploads,
)
from borderwatch.web.api import vehicles as vehicles_api
from borderwatch.web.deps import AppState
from borderwatch.web.jobs import fail_interrupted_jobs
from borderwatch.web.limits import BodyGuard, uvicorn_options
from borderwatch.web.metrics import Metrics, MetricsMiddleware

STATIC_DIR = Path(__file__).parent / "static"

API_ROUTERS = [
    declarations.router,
    lanes.router,
    cases.router,
    screening.router,
    profiles.router,
    monitoring.router,
    models.router,
    uploads.router,
    quarantine.router,
    me.router,
    health.router,
    ledger.router,
    vehicles_api.router,
    pipeline.router,
    intel.router,
]


def create_app(settings: Settings) -> FastAPI:
    """The FastAPI application for ``settings``' database (which must already be migrated)."""
    engine = engine_from_settings(settings)
    factory = session_factory(engine)
    writers = WriterPool(engine, signer=KeyStore(settings.data_dir).log_signer)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        fail_interrupted_jobs(factory=factory, data_dir=settings.data_dir)
        yield
        state.close_publisher()
        writers.close()
        engine.dispose()

    # /docs and /redoc from the files fastapi-offline ships (under /static-offline-docs): no CDN, so the API
    # documentation works in an air-gapped agency.
    app = FastAPIOffline(
        title="borderwatch",
        summary="Customs risk targeting: declarations, scores, lanes, cases, screening.",
        version="0.1.0",
        lifespan=lifespan,
    )
    state = AppState(settings=settings, engine=engine, factory=factory, ledger=writers)
    app.state.borderwatch = state
    errors.install(app)
    for router in API_ROUTERS:
        app.include_router(router, prefix="/api")
    app.include_router(ledger.tiles_router)  # C2SP tlog-tiles paths, public by design (access.policy)
    from borderwatch.web import taxii
    from borderwatch.web.ui import cases as case_pages
    from borderwatch.web.ui import intel as intel_pages
    from borderwatch.web.ui import (
        ledger_pages,
        pages,
        records_pages,
        review,
        training,
        travellers,
        vehicles,
        worklist,
        workspace,
    )
    from borderwatch.web.ui import pipeline as pipeline_pages

    taxii.install(app)

    app.include_router(pages.router)
    app.include_router(worklist.router)
    app.include_router(case_pages.router)
    app.include_router(records_pages.router)
    app.include_router(review.router)
    app.include_router(workspace.router)
    app.include_router(travellers.router)
    app.include_router(vehicles.router)
    app.include_router(training.router)
    app.include_router(intel_pages.router)
    app.include_router(pipeline_pages.router)
    app.include_router(ledger_pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR, check_dir=False), name="static")
    app.add_middleware(BodyGuard, settings=settings, factory=factory)
    # outermost: it counts what BodyGuard refuses too. Served on a port of its own (``serve``), not here.
    metrics = Metrics(settings=settings, engine=engine, factory=factory)
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    access_log: bool = True,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> None:
    """Migrate the database and serve the workspace until interrupted; with ``metrics_port``, Prometheus'
    metrics (``web.metrics``) on that port of ``metrics_host``, apart from the workspace."""
    import uvicorn
    from prometheus_client import start_http_server

    engine = engine_from_settings(settings)
    migrate_for(settings, engine)
    engine.dispose()
    app = create_app(settings)
    if metrics_port is not None:
        start_http_server(metrics_port, addr=metrics_host, registry=app.state.metrics.registry)
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        access_log=access_log,
        **uvicorn_options(settings),
    )
