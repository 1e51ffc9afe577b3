"""The selection every arrival path uses, with the checks that later stages supply plugged in.

``inspections.flows.selection_for`` cannot reach the ledger or the vehicles stage (they come after it), so
the document check and the vehicle alerts are composed here, the first layer that sees all three. The web
layer, the CLI and the workers take their selection from here, so no way of arriving skips a check.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from borderwatch.core.cache import Cache
from borderwatch.core.settings import Settings
from borderwatch.inspections.flows import Selection, selection_for
from borderwatch.ledger.documents import LedgerDocumentCheck
from borderwatch.ledger.keys import KeyStore
from borderwatch.vehicles.service import VehicleAlertCheck

__all__ = ["agency_selection"]


def agency_selection(*, settings: Settings, engine: Engine, agency: str, cache: Cache) -> Selection:
    """``agency``'s selection (profiles, lane policy, explain threshold) with the ledger's document check
    and the vehicle alerts."""
    return selection_for(
        settings=settings,
        agency=agency,
        cache=cache,
        documents=LedgerDocumentCheck(engine, KeyStore(settings.data_dir)),
        vehicles=VehicleAlertCheck(engine),
    )
