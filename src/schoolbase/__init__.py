"""Schoolbase: a multi-tenant school platform backend on PostgreSQL."""

__version__ = "0.1.0"
