"""A leaf's bytes are the canonical JSON of its fields, whatever the strings hold."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from borderwatch.ledger.entries import DocumentEntry, DocumentType, canonical_json

# any text but lone surrogates (not encodable as UTF-8 either way)
_strings = st.text(min_size=1, max_size=128).filter(lambda s: not any("\ud800" <= c <= "\udfff" for c in s))


def _canonical(entry: DocumentEntry, time: str) -> bytes:
    return canonical_json(
        {
            "type": str(entry.doc_type),
            "issuer": entry.issuer,
            "number": entry.number,
            "issued_on": entry.issued_on.isoformat() if entry.issued_on else None,
            "submitter": entry.submitter,
            "time": time,
            "fingerprint": entry.fingerprint,
        }
    )


@given(
    kind=st.sampled_from(list(DocumentType)),
    issuer=_strings,
    number=_strings,
    issued_on=st.none() | st.dates(),
    submitter=st.sampled_from(["a", 'quo"te', "back\\slash", "tab\t", "nl\n", "é ü 中", "\x00\x1f\x7f"]),
    fingerprint=st.text("0123456789abcdef", min_size=64, max_size=64),
    time=st.sampled_from(["2026-12-03T18:00:00.000000Z", "0001-01-01T00:00:00.000001Z"]),
)
def test_leaf_bytes_are_the_canonical_json_of_the_fields(
    kind: DocumentType,
    issuer: str,
    number: str,
    issued_on: date | None,
    submitter: str,
    fingerprint: str,
    time: str,
) -> None:
    entry = DocumentEntry(kind, issuer, number, issued_on, submitter, fingerprint)
    assert entry.leaf_stamped(time) == _canonical(entry, time)
