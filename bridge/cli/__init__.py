"""The `bridge` command line: one module per command group, and the demo."""
