"""Vectorised validation: a batch of raw text records → typed rows ready to store, and the problems found.

Every check is a Polars expression over the whole batch, so a batch of thousands of records costs a handful of
column operations rather than a Python loop per record. The messages are the same sentences the pydantic
boundary (``schemas.py``) gives for JSON input, so a person sees one wording whatever the file format.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import polars as pl
from sqlalchemy import String

from borderwatch.ingest import schemas
from borderwatch.ingest.mapping import PARTY_ROLES, RECORD_FIELDS
from borderwatch.ingest.models import DeclarationRow, GoodsItemRow

NUMBER_FIELDS = ("net_mass", "quantity", "customs_value", "tax_rate")
COUNTRY_FIELDS = (
    "departure_country",
    "origin_country",
    *(f"{role}_country" for role in PARTY_ROLES),
)
REQUIRED = ("lrn", "declared_on", "office", "hs_code", "customs_value", "currency")
# Normalised (format characters removed, Unicode NFKC) before anything compares them, as ``schemas`` does.
IDENTIFIER_FIELDS = (
    "lrn",
    "office",
    "means_id",
    "container_ids",
    *(f"{role}_id" for role in PARTY_ROLES),
)
# Free text that no column bounds; NUL is refused in it as everywhere (PostgreSQL text cannot hold it).
FREE_TEXT_FIELDS = (
    "description",
    *(f"{role}_{part}" for role in PARTY_ROLES for part in ("name", "address")),
)
_TRUE = ("1", "true", "yes", "y", "t")
_FALSE = ("0", "false", "no", "n", "f")

# Typed columns of a staged record (one goods item); ``line`` identifies the source record.
STAGED_SCHEMA: dict[str, pl.DataType] = {
    "line": pl.Int64(),
    "lrn": pl.String(),
    "declared_on": pl.Date(),
    "office": pl.String(),
    "process_type": pl.String(),
    "import_type": pl.String(),
    "import_use": pl.String(),
    "payment_type": pl.String(),
    "transport_mode": pl.String(),
    "departure_country": pl.String(),
    "transit_countries": pl.String(),
    "origin_country": pl.String(),
    "origin_indicator": pl.String(),
    "means_id": pl.String(),
    "container_ids": pl.String(),
    "importer_id": pl.String(),
    "declarant_id": pl.String(),
    "seller_id": pl.String(),
    "courier_id": pl.String(),
    "parties": pl.String(),
    "documents": pl.String(),
    "item_no": pl.Int32(),
    "hs_code": pl.String(),
    "description": pl.String(),
    "net_mass": pl.Float64(),
    "quantity": pl.Float64(),
    "quantity_unit": pl.String(),
    "customs_value": pl.Float64(),
    "currency": pl.String(),
    "tax_rate": pl.Float64(),
    "tax_type": pl.String(),
    "fraud": pl.Int8(),
    "critical_fraud": pl.Int8(),
}
PROBLEM_SCHEMA: dict[str, pl.DataType] = {"line": pl.Int64(), "field": pl.String(), "reason": pl.String()}


def _length_limits() -> dict[str, int]:
    """Maximum text length of each field that lands in a bounded database column (PostgreSQL enforces it)."""
    limits: dict[str, int] = {}
    for table in (DeclarationRow.__table__, GoodsItemRow.__table__):
        for column in table.columns:
            if isinstance(column.type, String) and column.type.length and column.name in RECORD_FIELDS:
                limits[column.name] = column.type.length
    limits["item_no"] = 9
    # Party details are stored together as JSON: bounded as the pydantic boundary bounds them.
    for role in PARTY_ROLES:
        limits[f"{role}_name"] = schemas.NAME_LENGTH
        limits[f"{role}_address"] = schemas.ADDRESS_LENGTH
    return limits


LENGTH_LIMITS = _length_limits()


@dataclass(frozen=True)
class Validated:
    """A validated batch: rows to store (``STAGED_SCHEMA``) and one problem per rejected record."""

    rows: pl.DataFrame
    problems: pl.DataFrame


def _quoted(column: str) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), pl.col(column), pl.lit("'"))


def _text(present: bool, field: str, default: str | None) -> pl.Expr:
    value = pl.col(field) if present else pl.lit(None, dtype=pl.String)
    if present and field in IDENTIFIER_FIELDS:
        value = value.str.replace_all(r"\p{Cf}", "").str.normalize("NFKC")
    value = value.str.strip_chars()
    value = pl.when(value == "").then(None).otherwise(value)
    if default is not None:
        value = value.fill_null(pl.lit(default))
    return value.alias(field)


def parties_json() -> pl.Expr:
    """``{"role": {"id", "name", "address", "country"}, ...}`` for each role whose id is given."""
    entries = [
        pl.when(pl.col(f"{role}_id").is_not_null()).then(
            pl.concat_str(
                pl.lit(f'"{role}":'),
                pl.struct(
                    pl.col(f"{role}_id").alias("id"),
                    pl.col(f"{role}_name").alias("name"),
                    pl.col(f"{role}_address").alias("address"),
                    pl.col(f"{role}_country").alias("country"),
                ).struct.json_encode(),
            )
        )
        for role in PARTY_ROLES
    ]
    return pl.concat_str(pl.lit("{"), pl.concat_str(entries, separator=",", ignore_nulls=True), pl.lit("}"))


@dataclass(frozen=True)
class _Plan:
    """The expressions that validate one shape of batch, in the order ``validate_records`` applies them."""

    texts: list[pl.Expr]
    normalise: list[pl.Expr]
    typed: list[pl.Expr]
    failed: pl.Expr
    field: pl.Expr
    reason: pl.Expr
    rows: list[pl.Expr]
    staged: list[pl.Expr]


_Pairs = tuple[tuple[str, str], ...]


@lru_cache(maxsize=64)
def _plan(
    columns: frozenset[str], date_format: str, constants: _Pairs, defaults: _Pairs, labels: _Pairs
) -> _Plan:
    """Built once per batch shape (columns, mapping): building the few hundred expressions costs about as
    much as running them on a batch of a hundred records, and a source sends batch after batch alike."""
    fixed, default_of, label_of = dict(constants), dict(defaults), dict(labels)
    texts = [
        pl.lit(fixed[field]).alias(field)
        if field in fixed
        else _text(field in columns, field, default_of.get(field))
        for field in RECORD_FIELDS
    ]
    texts.append(
        pl.col("documents") if "documents" in columns else pl.lit(None, dtype=pl.String).alias("documents")
    )
    normalise = [
        pl.col("hs_code").str.replace_all(r"[.\s]", ""),
        pl.col("currency").str.to_uppercase(),
        *(pl.col(c).str.to_uppercase() for c in COUNTRY_FIELDS),
        pl.col("transit_countries").str.to_uppercase().str.replace_all(r"\s+", " "),
    ]
    typed = [
        pl.col("declared_on").str.to_date(date_format, strict=False).alias("_date"),
        *(pl.col(c).cast(pl.Float64, strict=False).alias(f"_{c}") for c in NUMBER_FIELDS),
        pl.col("item_no").cast(pl.Int64, strict=False).alias("_item_no"),
        pl.col("fraud").str.to_lowercase().alias("_fraud"),
    ]
    country_set = pl.Series(sorted(schemas.country_codes())).implode()
    currency_set = pl.Series(sorted(schemas.currency_codes())).implode()
    checks: list[tuple[str, pl.Expr, pl.Expr]] = []

    def check(field: str, bad: pl.Expr, reason: pl.Expr | str) -> None:
        checks.append((field, bad, pl.lit(reason) if isinstance(reason, str) else reason))

    for field in REQUIRED:
        check(field, pl.col(field).is_null(), schemas.MISSING)
    check(
        "declared_on",
        pl.col("declared_on").is_not_null() & pl.col("_date").is_null(),
        pl.concat_str(_quoted("declared_on"), pl.lit(schemas.not_a_date("", date_format).removeprefix("''"))),
    )
    for field in IDENTIFIER_FIELDS:
        check(field, pl.col(field).str.contains(r"\p{Cc}"), schemas.CONTROL_REASON)
    for field in FREE_TEXT_FIELDS:
        if field in columns:
            check(field, pl.col(field).str.contains("\x00", literal=True), schemas.NUL_REASON)
    check(
        "declared_on",
        ~pl.col("_date").is_between(schemas.MIN_DATE, schemas.MAX_DATE),
        pl.concat_str(_quoted("declared_on"), pl.lit(schemas.DATE_RANGE_REASON)),
    )
    for field, limit in LENGTH_LIMITS.items():
        check(field, pl.col(field).str.len_chars() > limit, schemas.too_long(limit))
    check(
        "hs_code",
        pl.col("hs_code").is_not_null() & ~pl.col("hs_code").str.contains(schemas.HS_CODE.pattern),
        pl.concat_str(_quoted("hs_code"), pl.lit(schemas.HS_REASON)),
    )
    for field in COUNTRY_FIELDS:
        check(
            field,
            pl.col(field).is_not_null() & ~pl.col(field).is_in(country_set),
            pl.concat_str(_quoted(field), pl.lit(schemas.COUNTRY_REASON)),
        )
    # One regex over the whole list is far cheaper than splitting it; the offending code is picked out only
    # for the rows that fail (reasons are worded for failing rows alone).
    codes = "|".join(sorted(schemas.country_codes()))
    transit_ok = pl.col("transit_countries").str.contains(f"^(?:(?:{codes})(?: |$))+$")
    bad_transit = (
        pl.col("transit_countries")
        .str.split(" ")
        .list.eval(pl.element().filter(~pl.element().is_in(country_set)))
        .list.first()
    )
    check(
        "transit_countries",
        pl.col("transit_countries").is_not_null() & ~transit_ok,
        pl.concat_str(pl.lit("'"), bad_transit, pl.lit("'"), pl.lit(schemas.COUNTRY_REASON)),
    )
    check(
        "currency",
        pl.col("currency").is_not_null() & ~pl.col("currency").is_in(currency_set),
        pl.concat_str(_quoted("currency"), pl.lit(schemas.CURRENCY_REASON)),
    )
    for field in NUMBER_FIELDS:
        parsed = pl.col(f"_{field}")
        check(
            field,
            pl.col(field).is_not_null() & (parsed.is_null() | ~parsed.is_finite()),
            pl.concat_str(_quoted(field), pl.lit(schemas.NOT_A_NUMBER_REASON)),
        )
        check(field, parsed < 0, pl.concat_str(_quoted(field), pl.lit(schemas.NEGATIVE_REASON)))
    check(
        "item_no",
        pl.col("item_no").is_not_null() & (pl.col("_item_no").is_null() | (pl.col("_item_no") < 1)),
        pl.concat_str(_quoted("item_no"), pl.lit(" is not an item number (1, 2, ...)")),
    )
    check(
        "fraud",
        pl.col("_fraud").is_not_null() & ~pl.col("_fraud").is_in([*_TRUE, *_FALSE]),
        pl.concat_str(_quoted("fraud"), pl.lit(" is not a yes/no value (0 or 1)")),
    )
    check(
        "critical_fraud",
        pl.col("critical_fraud").is_not_null() & ~pl.col("critical_fraud").is_in(["0", "1", "2"]),
        pl.concat_str(_quoted("critical_fraud"), pl.lit(" is not a critical-fraud level (0, 1 or 2)")),
    )
    return _Plan(
        texts=texts,
        normalise=normalise,
        typed=typed,
        # which check (if any) each row fails — cheap integers; the reason is worded for failing rows only
        failed=pl.coalesce([pl.when(bad).then(pl.lit(index)) for index, (_, bad, _) in enumerate(checks)]),
        field=pl.coalesce(
            [
                pl.when(pl.col("_check") == i).then(pl.lit(label_of.get(f, f)))
                for i, (f, _, _) in enumerate(checks)
            ]
        ),
        reason=pl.coalesce(
            [pl.when(pl.col("_check") == i).then(why) for i, (_, _, why) in enumerate(checks)]
        ),
        rows=[
            pl.col("_date").alias("declared_on"),
            *(pl.col(f"_{c}").alias(c) for c in NUMBER_FIELDS),
            pl.col("_item_no").fill_null(1).cast(pl.Int32).alias("item_no"),
            pl.when(pl.col("_fraud").is_in(_TRUE))
            .then(1)
            .when(pl.col("_fraud").is_in(_FALSE))
            .then(0)
            .cast(pl.Int8)
            .alias("fraud"),
            pl.col("critical_fraud").cast(pl.Int8),
            parties_json().alias("parties"),
        ],
        staged=[pl.col(name).cast(dtype) for name, dtype in STAGED_SCHEMA.items()],
    )


def _pairs(mapping: Mapping[str, str] | None) -> _Pairs:
    return tuple(sorted((mapping or {}).items()))


def validate_records(
    raw: pl.DataFrame,
    *,
    date_format: str = "%Y-%m-%d",
    constants: Mapping[str, str] | None = None,
    defaults: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Validated:
    """Check and type a batch of raw text records.

    ``raw`` has a ``line`` column and a String column per record field it carries (missing fields are null);
    several rows may share a ``line`` (the goods items of one declaration): a problem in any of them rejects
    the whole record. ``labels`` names each field as the person knows it (the source column).
    """
    plan = _plan(frozenset(raw.columns), date_format, _pairs(constants), _pairs(defaults), _pairs(labels))
    judged = (
        raw.select(pl.col("line").cast(pl.Int64), *plan.texts)
        .with_columns(plan.normalise)
        .with_columns(plan.typed)
        .with_columns(plan.failed.alias("_check"))
    )
    bad_rows = judged.filter(pl.col("_check").is_not_null())
    if bad_rows.is_empty():
        rows = judged.with_columns(plan.rows).select(plan.staged)
        return Validated(rows=rows, problems=pl.DataFrame(schema=PROBLEM_SCHEMA))
    problems = (
        bad_rows.with_columns(plan.field.alias("field"), plan.reason.alias("reason"))
        .group_by("line", maintain_order=True)
        .agg(pl.col("field").first(), pl.col("reason").first())
    )
    good = judged.filter(~pl.col("line").is_in(bad_rows["line"].unique().implode()))
    rows = good.with_columns(plan.rows).select(plan.staged)
    return Validated(rows=rows, problems=problems.select(PROBLEM_SCHEMA.keys()).cast(PROBLEM_SCHEMA))  # type: ignore[arg-type]


_HASHED = [c for c in STAGED_SCHEMA if c not in {"line", "fraud", "critical_fraud"}]


def content_hashes(rows: pl.DataFrame) -> pl.DataFrame:
    """``line, lrn, content_hash``: SHA-256 of each record's normalised content (outcome excluded).

    The hash depends only on what the declaration says, not on which file or format carried it, so
    re-ingesting the same content is recognised as a duplicate.
    """
    text = rows.sort("line", "item_no").select(
        "line",
        "lrn",
        pl.concat_str([pl.col(c).cast(pl.String).fill_null("\x00") for c in _HASHED], separator="\x1f").alias(
            "_text"
        ),
    )
    per_record = text.group_by("line", maintain_order=True).agg(
        pl.col("lrn").first(), pl.col("_text").str.join("\x1e")
    )
    digests = [hashlib.sha256(value.encode("utf-8")).hexdigest() for value in per_record["_text"]]
    return per_record.select("line", "lrn").with_columns(pl.Series("content_hash", digests, dtype=pl.String))
