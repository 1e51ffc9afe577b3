"""Imports every ORM module so that ``metadata`` describes the whole schema (for Alembic and tests).

This is the one module of ``db`` that knows the stages; each stage adds its ``models`` import here.
"""

from __future__ import annotations

import borderwatch.access.models  # noqa: F401
import borderwatch.entities.models  # noqa: F401
import borderwatch.ingest.models  # noqa: F401
import borderwatch.inspections.models  # noqa: F401
import borderwatch.lanes.models  # noqa: F401
import borderwatch.scoring.models  # noqa: F401
import borderwatch.screening.models  # noqa: F401
from borderwatch.db.base import Base

metadata = Base.metadata
