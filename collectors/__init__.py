"""Async collectors: each polls one kind of source and returns typed readings.

Collectors know nothing of events, storage or the screen, and never import
Textual or Rich: they run headless under `bridge collect` too.
"""

from collectors.base import Collector, Reading

__all__ = ["Collector", "Reading"]
