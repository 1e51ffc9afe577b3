"""Intelligence sharing: STIX 2.1 objects over TAXII 2.1, TLP 2.0, sharing groups, sightings."""

# The stage's public surface: other stages import these modules; the rest are its own.
__all__ = ["models", "stix", "store", "tlp", "validate"]
