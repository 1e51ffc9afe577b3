"""JSON routers under ``/api``; each module is one resource."""
