"""`bridge wall`: the read-only bridge screen, and what it reads from the store."""
