"""UN/EDIFACT in and out: the syntax layer (``syntax``), CUSDEC → declarations (``cusdec``), CUSCAR/IFTMCS →
manifest lines (``manifest``), and the reader that feeds them to ingest (``reader``)."""

__all__ = ["cusdec", "manifest", "reader", "syntax"]
