"""Rules: observations in, events out.

Each source's meaning (SNMP readings, traps, reported checks, schedule transitions)
becomes the same event inputs, so every source gets the same dedup and severity logic."""
