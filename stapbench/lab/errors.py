"""The lab's one exception type."""

from __future__ import annotations

__all__ = ["LabError"]


class LabError(RuntimeError):
    """Something the lab needs is missing or a step failed; the message says which and what to do."""
