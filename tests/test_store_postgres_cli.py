"""`bridge store grant-readonly`, the wall's refusal of a role that can write, and
`bridge store migrate` from SQLite, on a real PostgreSQL server and the real CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import psycopg
import pytest
from conftest import Isolated, Processes, one_error_line, run_bridge, settled, wait_until
from pg_server import PgServer

from bridge.core.actions import Action
from bridge.core.models import EventInput, MaintenanceWindow, Severity
from bridge.core.outbox import OutboxNew
from bridge.runtime.hosts import collector_lease, host_name
from bridge.store import Store, StoreError, open_store
from bridge.store.postgres.copy import TABLES
from bridge.ui.wall.data import open_wall_store
from collectors.base import Reading

pytestmark = pytest.mark.timeout(180)

T0 = 1_700_000_000.0
WALL_PASSWORD = "wall-Secret-9"


def ev(sev: Severity, at: float, resource: str = "web1") -> EventInput:
    return EventInput(
        "local", resource, "cpu", sev, f"cpu on {resource}", at, evidence={"b": 2, "a": 1}
    )


async def seed(store: Store) -> None:
    await store.upsert_events([ev(Severity.MAJOR, T0), ev(Severity.WARNING, T0, "db1")], "t")
    (event, *_) = await store.list_events()
    await store.act([event.id], Action.ACK, "alice", T0 + 1, note="looking")
    run = await store.job_start("backup", "cron", T0)
    await store.job_finish("backup", "cron", T0 + 9, ok=False, run_id=run.run_id, message="disk")
    await store.set_maintenance_windows([MaintenanceWindow("patch", ("db*",), T0, T0 + 60)], T0)
    await store.outbox_enqueue([OutboxNew("pager", "major", event.id, "{}")], T0)
    await store.write_reading(
        Reading("local", "web1", T0, {"cpu": 12.0}, {"z": 1, "a": {"y": 2}}), {"cpu": "ok"}
    )


def role_for(pg_url: str) -> tuple[str, str]:
    """A role of this test's own (roles are the whole server's) and its wall URL."""
    database = pg_url.rsplit("/", 1)[1]
    role = f"wall_{database}"
    host = pg_url.rsplit("@", 1)[1]
    return role, f"postgresql://{role}:{WALL_PASSWORD}@{host}"


async def test_grant_readonly_gives_a_role_the_wall_accepts(
    isolated: Isolated, pg_server: PgServer, pg_url: str
) -> None:
    store = await open_store(pg_url)
    await seed(store)
    await store.close()
    role, wall_url = role_for(pg_url)
    pg_server.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{WALL_PASSWORD}'")
    # Before the grant the role cannot even read the store.
    with pytest.raises(StoreError):
        await (await open_wall_store(wall_url)).close()

    result = await asyncio.to_thread(
        run_bridge, isolated, "store", "grant-readonly", role, "--url", pg_url
    )
    assert result.returncode == 0, result.stderr
    assert f"role {role} may read the store" in result.stdout

    wall = await open_wall_store(wall_url)
    try:
        assert not await wall.can_write()
        assert {e.resource for e in await wall.list_events()} == {"web1", "db1"}
        last = await wall.last_seq()
        assert await wall.wait_for_changes(last, 0.1) == []  # it may LISTEN
    finally:
        await wall.close()
    # The grants are the lock, not the session's read-only default: a client that
    # turns that off still cannot write.
    async with await psycopg.AsyncConnection.connect(wall_url, autocommit=True) as raw:
        await raw.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await raw.execute("UPDATE events SET state = 'acknowledged'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            await raw.execute("CREATE TABLE public.mine (x int)")


async def test_the_wall_refuses_a_role_that_can_write(isolated: Isolated, pg_url: str) -> None:
    store = await open_store(pg_url)
    await store.close()
    with pytest.raises(StoreError, match="--allow-writable") as refused:
        await open_wall_store(pg_url)
    assert "admin-secret-pw" not in str(refused.value)
    allowed = await open_wall_store(pg_url, allow_writable=True)
    await allowed.close()
    # The real command: one line, before any screen, and never the password.
    config = isolated.write_config(f'[store]\nurl = "{pg_url}"\n')
    result = await asyncio.to_thread(run_bridge, isolated, "--config", str(config), "wall")
    one_error_line(result, "can write", "grant-readonly", "--allow-writable")
    assert "admin-secret-pw" not in result.stderr


def test_grant_readonly_on_sqlite_is_one_line(isolated: Isolated) -> None:
    db = isolated.root / "b.db"
    result = run_bridge(isolated, "store", "grant-readonly", "wall", "--url", f"sqlite://{db}")
    one_error_line(result, "SQLite", "read-only already")


async def test_migrate_copies_the_history_with_counts(
    isolated: Isolated, tmp_path: Path, pg_url: str
) -> None:
    path = tmp_path / "old.db"
    old = await open_store(path)
    await seed(old)
    await old.close()
    result = await asyncio.to_thread(
        run_bridge, isolated, "store", "migrate", "--from", f"sqlite://{path}", "--to", pg_url
    )
    assert result.returncode == 0, result.stderr
    assert "every table's count checked" in result.stdout
    assert "admin-secret-pw" not in result.stdout
    old, new = await open_store(path), await open_store(pg_url)
    try:
        reads: list[Callable[[Store], Awaitable[object]]] = [
            lambda s: s.list_events(include_resolved=True),
            lambda s: s.journal(),
            lambda s: s.job_runs(),
            lambda s: s.outbox_items(),
            lambda s: s.changes_since(0, 10_000),
            lambda s: s.snapshots(),
            lambda s: s.maintenance_windows(),
            lambda s: s.series("local", "web1", "cpu", 0),
            lambda s: s.collector_health(),
        ]
        for read in reads:
            assert await read(new) == await read(old)
        (event, *_) = await old.list_events()
        assert await new.evidence(event.id) == await old.evidence(event.id)
        # New rows continue after the copied ids and seqs.
        before = await new.last_seq()
        await new.upsert_events([ev(Severity.CRITICAL, T0 + 5, "new1")], "t")
        added = await new.find_event("local|new1|cpu")
        assert added is not None and added.id > max(e.id for e in await old.list_events())
        assert await new.last_seq() > before
    finally:
        await old.close()
        await new.close()
    again = await asyncio.to_thread(
        run_bridge, isolated, "store", "migrate", "--from", f"sqlite://{path}", "--to", pg_url
    )
    one_error_line(again, "not empty")
    assert set(TABLES) >= {"events", "journal", "job_runs", "changes", "outbox"}


async def test_the_wall_runs_read_only_on_postgresql(pg_server: PgServer, pg_url: str) -> None:
    """The wall on a PostgreSQL store through a read-only role (Pilot): it shows the
    store's counts, and every key the console answers to changes nothing."""
    from textual.binding import Binding
    from wall_seed import make_wall, seed_wall

    from bridge.core.models import Severity
    from bridge.ui.app import BridgeApp
    from bridge.ui.panes.events import EventsPane

    await seed_wall(pg_url)
    role, wall_url = role_for(pg_url)
    pg_server.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{WALL_PASSWORD}'")
    admin = await open_store(pg_url)
    try:
        from bridge.store.postgres import PostgresStore, grant_readonly

        assert isinstance(admin, PostgresStore)
        await grant_readonly(admin, role)
        before = (await admin.last_seq(), await admin.journal(limit=10_000))
        app = make_wall(wall_url)
        keys = [b.key if isinstance(b, Binding) else b[0] for b in
                [*EventsPane.BINDINGS, *BridgeApp.BINDINGS]]  # fmt: skip
        async with app.run_test(size=(100, 30)) as pilot:
            await wait_until(settled(pilot, lambda: app.data is not None), 10, what="first read")
            assert app.data is not None and app.data.counts[Severity.CRITICAL] >= 1
            for key in [k.split(",")[0] for k in keys if k != "q"]:
                await pilot.press(key)
            await pilot.press("q")
        assert (await admin.last_seq(), await admin.journal(limit=10_000)) == before
    finally:
        await admin.close()


async def test_collect_and_the_cli_share_one_postgresql_store(
    isolated: Isolated, processes: Processes, pg_url: str
) -> None:
    """`bridge collect` polls into PostgreSQL while a job signal and an event come from
    other processes; a follower of the feed sees each, and after SIGKILL of the
    collector a second one takes the lease over on the server's clock."""
    config = isolated.write_config(f'[store]\nurl = "{pg_url}"\n[local]\ninterval = 1.0\n')
    first = processes.bridge(
        isolated, "--config", str(config), "collect", log=isolated.root / "1.log"
    )
    follower = await open_store(pg_url)
    try:

        async def polled() -> bool:
            lease = await follower.lease(collector_lease(host_name()))
            return lease is not None and bool(await follower.snapshots("local"))

        await wait_until(polled, within=30, what="the collector's first reading")
        seq = await follower.last_seq()
        raised = await asyncio.to_thread(
            run_bridge, isolated, "--config", str(config), "events", "raise", "--severity",
            "major", "--resource", "db1", "--check", "backup", "--summary", "from another host",
        )  # fmt: skip
        assert raised.returncode == 0, raised.stderr
        seen: list[str] = []

        async def feed_saw_it() -> bool:
            nonlocal seq
            changes = await follower.wait_for_changes(seq, 1.0)
            if changes:
                seq = changes[-1].seq
                seen.extend(c.kind for c in changes)
            return "events" in seen

        await wait_until(feed_saw_it, within=15, what="the raise in the change feed")
        holder = await follower.lease(collector_lease(host_name()))
        assert holder is not None and holder.pid == first.pid
        first.kill()
        first.wait(timeout=10)
        second = processes.bridge(
            isolated, "--config", str(config), "collect", log=isolated.root / "2.log"
        )

        async def taken_over() -> bool:
            lease = await follower.lease(collector_lease(host_name()))
            return lease is not None and lease.pid == second.pid

        await wait_until(taken_over, within=30, what="the second collector to take the lease")
    finally:
        await follower.close()


async def test_an_idle_console_costs_at_most_one_query_a_second(
    pg_server: PgServer, pg_url: str
) -> None:
    """A console checks the feed four times a second (wait_for_changes with timeout 0);
    idle, that must cost the server at most one query a second. Counted in the
    server's own log of every statement this console's role ran."""
    store = await open_store(pg_url)
    await store.close()
    role, url = role_for(pg_url)
    pg_server.psql(f"CREATE ROLE {role} LOGIN PASSWORD '{WALL_PASSWORD}'")
    pg_server.psql(f"ALTER ROLE {role} SET log_statement = 'all'")
    admin = await open_store(pg_url)
    try:
        from bridge.store.postgres import PostgresStore, grant_readonly

        assert isinstance(admin, PostgresStore)
        await grant_readonly(admin, role)
    finally:
        await admin.close()
    console = await open_store(url, read_only=True)
    mark = f"user={role},"

    def statements() -> int:
        text = pg_server.log.read_text(encoding="utf-8", errors="replace")
        # "statement:" for a simple query, "execute ...:" for a parameterized one.
        return sum(
            1
            for line in text.splitlines()
            if line.startswith(mark) and ("LOG:  statement:" in line or "LOG:  execute" in line)
        )

    try:
        seq = await console.last_seq()
        await console.wait_for_changes(seq, 0)  # starts the LISTEN connection

        async def listening() -> bool:
            out = pg_server.psql(
                "SELECT count(*) FROM pg_stat_activity "
                f"WHERE usename = '{role}' AND application_name = 'bridge-listen' "
                "AND query LIKE 'SELECT COALESCE%'"
            )
            return int(out) == 1

        await wait_until(listening, within=10, what="the console's LISTEN connection")
        before = statements()
        started = asyncio.get_running_loop().time()
        for _ in range(24):  # six seconds of an idle console's checks
            assert await console.wait_for_changes(seq, 0) == []
            await asyncio.sleep(0.25)  # the console's cadence, not a wait for anything
        seconds = asyncio.get_running_loop().time() - started
        spent = statements() - before
        assert spent <= seconds, f"{spent} queries in {seconds:.1f} s"
    finally:
        await console.close()


async def test_the_stores_owner_can_grant_the_walls_role(
    isolated: Isolated, pg_server: PgServer
) -> None:
    """As docs/operations sets it up: a database owned by an ordinary role (no
    superuser, no CREATEROLE) that creates the store and grants the wall's role."""
    database = pg_server.database()
    owner, wall = f"own_{database}", f"wall_{database}"
    try:
        pg_server.psql(f"CREATE ROLE {owner} LOGIN PASSWORD '{WALL_PASSWORD}'")
        pg_server.psql(f"CREATE ROLE {wall} LOGIN PASSWORD '{WALL_PASSWORD}'")
        pg_server.psql(f"ALTER DATABASE {database} OWNER TO {owner}")
        pg_server.psql(f"ALTER SCHEMA public OWNER TO {owner}", database)
        owner_url = pg_server.url(database, user=owner, password=WALL_PASSWORD)
        store = await open_store(owner_url)
        await store.upsert_events([ev(Severity.MAJOR, T0)], "t")
        await store.close()
        result = await asyncio.to_thread(
            run_bridge, isolated, "store", "grant-readonly", wall, "--url", owner_url
        )
        assert result.returncode == 0, result.stderr
        wall_url = pg_server.url(database, user=wall, password=WALL_PASSWORD)
        reader = await open_wall_store(wall_url)
        try:
            assert [e.resource for e in await reader.list_events()] == ["web1"]
        finally:
            await reader.close()
        with pytest.raises(StoreError, match="--allow-writable"):
            await open_wall_store(owner_url)
    finally:
        pg_server.drop(database)
