"""Who may do what: users, API tokens, roles, agencies, the one authorisation policy, and the audit log."""
