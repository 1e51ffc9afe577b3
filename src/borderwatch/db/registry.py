"""Imports every ORM module so that ``metadata`` describes the whole schema (for Alembic and tests).

This is the one module of ``db`` that knows the stages; each stage adds its ``models`` import here.
"""

from __future__ import annotations

import borderwatch.access.models
import borderwatch.entities.models
import borderwatch.ingest.models
import borderwatch.inspections.models
import borderwatch.intel.models
import borderwatch.lanes.models
import borderwatch.ledger.models
import borderwatch.pipeline.models
import borderwatch.scoring.models
import borderwatch.screening.models
import borderwatch.training.models
import borderwatch.travellers.models
import borderwatch.vehicles.models  # noqa: F401
from borderwatch.db.base import Base

metadata = Base.metadata
