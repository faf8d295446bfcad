"""The web app: server-rendered pages over the same services, identity path and row-level
security as the API (see docs/web.md)."""
