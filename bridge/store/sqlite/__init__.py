"""The SQLite backend: one file in WAL mode, shared by every bridge process on a host.

The store, its service-level queries, its schema migrations and the read-only opener."""
