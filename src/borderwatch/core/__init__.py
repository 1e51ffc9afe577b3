"""Settings, errors and other plumbing shared by every stage; no domain logic lives here."""
