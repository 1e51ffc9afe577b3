"""What the API routers and the workspace pages both call: one fetch (404 and audit) per resource and
the work behind a form or an endpoint. Routers and pages import these, never each other."""
