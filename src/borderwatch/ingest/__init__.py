"""① Ingest: readers (KCS CSV, mapped CSV, JSON Lines, EDIFACT) → canonical declarations; validation; quarantine."""
