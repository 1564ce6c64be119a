"""The store's contract (docs/architecture.md, "The store's contract"), run against
every backend: each test takes `store_url` and runs once per backend in BACKENDS."""
