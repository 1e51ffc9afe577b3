"""Entity resolution of trader records and the networks they form."""
