"""③ Risk scoring: features → fraud and duty models, risk profiles, anomaly flags, explained scores."""
