"""Shared pytest fixtures, loaded as plugins by tests/conftest.py (one module per concern)."""
