"""The `bridge` command's entry: what has to happen before the CLI is imported.

Importing the CLI creates most of the dataclasses and named tuples a start
needs (the models, the store, psutil, and with the console Textual's and
Rich's), so the kept code for their methods (bridge.generated_code) is put in
place first.
"""

from __future__ import annotations

__all__ = ["main"]


def main() -> int:
    from bridge import generated_code

    generated_code.install()
    from bridge.cli import main as cli_main

    return cli_main()
