"""The one TOML config file: its typed records, checked with every problem collected.

One module per section, so a section's keys, defaults and checks sit together."""
