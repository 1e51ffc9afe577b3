"""Intelligence sharing: STIX 2.1 objects over TAXII 2.1, TLP 2.0, sharing groups, sightings."""
