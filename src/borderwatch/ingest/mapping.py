"""How the columns of a CSV export map onto borderwatch's flat record fields.

The KCS layout is one built-in mapping; an agency describes its own export in a small YAML file:

    name: port-authority-export
    delimiter: ";"
    encoding: utf-8
    date_format: "%d/%m/%Y"
    columns:            # field: source column (must be in the header)
      lrn: DeclNo
      declared_on: DeclDate
      office: Office
      hs_code: Commodity
      customs_value: Value
    optional_columns:   # field: source column (used when the header has it)
      net_mass: Mass
    constants:          # field: value for every row
      currency: EUR
    defaults:           # field: value when the cell is empty
      transport_mode: "10"
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from borderwatch.core.errors import ConfigError
from borderwatch.core.vocabulary import PARTY_ROLES as PARTY_ROLES  # noqa: PLC0414 - re-exported for the readers
from borderwatch.ingest.frame import KCS_COLUMNS, KCS_CURRENCY

# Every field a CSV row can fill: one goods item of a declaration, plus its inspection outcome if known.
RECORD_FIELDS: tuple[str, ...] = (
    "lrn",
    "declared_on",
    "office",
    "process_type",
    "import_type",
    "import_use",
    "payment_type",
    "transport_mode",
    "departure_country",
    "transit_countries",
    "origin_country",
    "origin_indicator",
    "means_id",
    "container_ids",
    *(f"{role}_{part}" for role in PARTY_ROLES for part in ("id", "name", "address", "country")),
    "item_no",
    "hs_code",
    "description",
    "net_mass",
    "quantity",
    "quantity_unit",
    "customs_value",
    "currency",
    "tax_rate",
    "tax_type",
    "fraud",
    "critical_fraud",
)
REQUIRED_FIELDS = ("lrn", "declared_on", "office", "hs_code", "customs_value", "currency")

KCS_EXTRA_COLUMNS: dict[str, str] = {
    "Importer Name": "importer_name",
    "Importer Address": "importer_address",
    "Importer Country": "importer_country",
    "Declarant Name": "declarant_name",
    "Seller Name": "seller_name",
    "Seller Address": "seller_address",
    "Seller Country": "seller_country",
    "Courier Name": "courier_name",
    "Transit Countries": "transit_countries",
    "Goods Description": "description",
    "Currency": "currency",
    "Container IDs": "container_ids",
}


class ColumnMapping(BaseModel):
    """Where each record field comes from in one CSV layout."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = "csv"
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    encoding: str = "utf-8"
    date_format: str = "%Y-%m-%d"
    columns: dict[str, str] = Field(default_factory=dict)
    optional_columns: dict[str, str] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    defaults: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _fields_known_and_required_present(self) -> ColumnMapping:
        for section in ("columns", "optional_columns", "constants", "defaults"):
            unknown = sorted(set(getattr(self, section)) - set(RECORD_FIELDS))
            if unknown:
                raise ValueError(f"{section} names unknown fields {unknown}; known: {list(RECORD_FIELDS)}")
        for field in REQUIRED_FIELDS:
            if field not in self.columns and field not in self.constants and field not in self.defaults:
                raise ValueError(
                    f"required field {field!r} is neither mapped to a column nor given a constant"
                )
        try:
            "".encode(self.encoding)
        except LookupError as error:
            raise ValueError(f"unknown encoding {self.encoding!r}") from error
        return self

    def source_of(self, field: str) -> str:
        """The source column a field is read from (for messages), or the field itself for constants."""
        return self.columns.get(field) or self.optional_columns.get(field) or field


def kcs_mapping() -> ColumnMapping:
    """The KCS layout: its 22 columns plus borderwatch's optional extra columns."""
    return ColumnMapping(
        name="kcs",
        columns={field: column for column, field in KCS_COLUMNS.items()},
        optional_columns={field: column for column, field in KCS_EXTRA_COLUMNS.items()},
        defaults={"currency": KCS_CURRENCY},
    )


def load_mapping(path: Path) -> ColumnMapping:
    """Read a YAML column mapping, or raise ``ConfigError`` naming what is wrong."""
    try:
        # BaseLoader keeps every scalar as text: a column called ``No`` or ``010`` stays that name.
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    except OSError as error:
        raise ConfigError(path=str(path), reason=f"cannot be read ({error.strerror})") from error
    except yaml.YAMLError as error:
        raise ConfigError(path=str(path), reason=f"is not valid YAML ({error})") from error
    if not isinstance(data, dict):
        raise ConfigError(path=str(path), reason="must be a YAML mapping of settings")
    try:
        return ColumnMapping.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or None
        raise ConfigError(
            path=str(path), field=where, reason=first["msg"].removeprefix("Value error, ")
        ) from error
