"""The test PostgreSQL server itself: it runs, it refuses a wrong password, and each
test's database is its own."""

from __future__ import annotations

import pytest
from pg_server import PgServer


def test_server_answers_and_databases_are_fresh(pg_server: PgServer) -> None:
    one, two = pg_server.database(), pg_server.database()
    try:
        assert one != two
        pg_server.psql("CREATE TABLE t (x int)", one)
        assert (
            pg_server.psql("SELECT count(*) FROM pg_tables WHERE tablename = 't'", two).strip()
            == "0"
        )
        version = pg_server.psql("SHOW server_version_num")
        assert int(version) >= 130000
    finally:
        pg_server.drop(one)
        pg_server.drop(two)


def test_wrong_password_is_refused(pg_server: PgServer) -> None:
    pg_server.psql("SELECT 1")
    with pytest.raises(RuntimeError, match="password authentication failed"):
        pg_server.psql("SELECT 1", url=pg_server.url(user="bridge_admin", password="wrong"))
