"""bridge: a terminal console for IT operations bridges.

The package root holds the core (config, store, rules, runner). Only `bridge.ui`
may import Textual or Rich, so the core can run headless under `bridge collect`.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
