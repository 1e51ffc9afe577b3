"""① Ingest: readers (KCS CSV, mapped CSV, JSON Lines) → canonical declarations; validation; quarantine."""
