"""TLP 2.0 in STIX: the five official marking-definition ids (OASIS cti-stix-common-objects, TLP 2.0
extension), and the TLP 1.0 ids partners still send, read as their TLP 2.0 level."""

from __future__ import annotations

from typing import Any

from borderwatch.access.policy import TLP

TLP2_EXTENSION = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
MARKING_IDS: dict[TLP, str] = {
    TLP.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    TLP.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    TLP.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    TLP.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    TLP.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
# STIX 2.1's TLP 1.0 markings (stix2.TLP_WHITE ...): WHITE became CLEAR.
_TLP1_IDS: dict[str, TLP] = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": TLP.CLEAR,
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": TLP.GREEN,
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": TLP.AMBER,
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": TLP.RED,
}
LEVEL_OF_ID: dict[str, TLP] = {**{v: k for k, v in MARKING_IDS.items()}, **_TLP1_IDS}
_STRICTNESS = [TLP.CLEAR, TLP.GREEN, TLP.AMBER, TLP.AMBER_STRICT, TLP.RED]


def marking_definition(level: TLP) -> dict[str, Any]:
    """The official STIX marking-definition object of a TLP 2.0 level."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": MARKING_IDS[level],
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{level.value.upper()}",
        "extensions": {TLP2_EXTENSION: {"extension_type": "property-extension", "tlp_2_0": level.value}},
    }


def strictest(levels: list[TLP]) -> TLP | None:
    """The most restrictive of ``levels`` (an object marked twice is handled as its stricter marking)."""
    if not levels:
        return None
    return max(levels, key=_STRICTNESS.index)


def parse_level(value: str) -> TLP:
    """A TLP level as people write it: ``amber+strict``, ``TLP:RED``, ``white`` (TLP 1.0 for clear)."""
    text = value.strip().lower().removeprefix("tlp:")
    if text == "white":
        return TLP.CLEAR
    return TLP(text)
