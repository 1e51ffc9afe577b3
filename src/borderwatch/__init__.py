"""borderwatch: customs risk targeting, screening, intelligence sharing and a tamper-evident ledger."""

__version__ = "0.1.0"
