"""Many hosts, one store: a collector per host, the estate's duties once, consoles anywhere.

Real `bridge collect --host a|b` processes share one store, each acting as a
different host: a SQLite file (fine between processes on one machine, never over
NFS) and a database on a real PostgreSQL server (what several machines share).
The consoles are the real app under Pilot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Isolated, Processes, settled, wait_until
from seed import T0, seed_store
from test_events_ui import STATE, prompt, row_of

from bridge.config.file import Config, parse_config
from bridge.core.clock import FixedClock, SystemClock
from bridge.core.models import EventState
from bridge.runtime.hosts import collector_lease, holder_host, host_name, list_hosts
from bridge.runtime.poller import Poller, build_collectors
from bridge.store import Store, open_store
from bridge.ui.app import BridgeApp, create_app
from bridge.ui.panes.events import EventsPane
from bridge.ui.panes.health import HealthPane
from bridge.ui.widgets.header import BridgeHeader, header_text

INTERVAL = 0.3  # the collectors' [local] interval
STALE_AFTER = 3 * INTERVAL  # [ui] stale_after_intervals (3) times the interval
START = 30.0  # bound for a `bridge collect` to start and take its lease
TAKEOVER = 15.0  # a killed holder's lease lapses after 6 s; others retry every 2 s
SHOWN = 5.0  # bound for a console to show what the store says


@pytest.fixture(params=["sqlite", "postgresql"])
def estate_url(request: pytest.FixtureRequest, isolated: Isolated) -> str:
    """One store for every host: a SQLite file (several processes on this machine) or
    a database on the session's real PostgreSQL server (what several machines share)."""
    if request.param == "sqlite":
        return f"sqlite:///{isolated.root / 'estate.db'}"
    url: str = request.getfixturevalue("pg_url")
    return url


def hosts_config(isolated: Isolated, url: str) -> Path:
    return isolated.write_config(
        f'[store]\nurl = "{url}"\n\n'
        f"[local]\ninterval = {INTERVAL}\nprocess_interval = 60\ntop_processes = 0\n\n"
        '[[jobs]]\nname = "nightly"\nschedule = "0 2 * * *"\n',
        name="estate.toml",
    )


def bridge_cli(isolated: Isolated, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        env=isolated.env,
        cwd=isolated.root,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def estate_host(store: Store, duty: str) -> str | None:
    """The host whose collector holds the estate lease `duty` now, if any."""
    lease = await store.lease(duty)
    return holder_host(lease.holder) if lease and lease.expires_at > time.time() else None


async def host_states(store: Store) -> dict[str, str]:
    return {h.host: h.state for h in await list_hosts(store, time.time(), STALE_AFTER)}


def health_text(app: BridgeApp) -> str:
    return "\n".join(
        "".join(t for t, _ in line) for line in app.query_one(HealthPane).host_view.lines
    )


def console(
    config: Config, db: Path | str, host: str, clock: FixedClock | None = None
) -> BridgeApp:
    return create_app(
        config,
        operator=f"op-{host}",
        store_path=db,
        clock=clock,
        collect=False,
        hostname=host,
        feed_interval=0.05,
    )


@pytest.mark.slow
async def test_two_hosts_report_a_job_and_a_killed_host_goes_stale(
    isolated: Isolated, processes: Processes, estate_url: str
) -> None:
    db = estate_url
    path = hosts_config(isolated, db)
    config = parse_config(path.read_text(encoding="utf-8"), str(path))
    store = await open_store(db)
    try:
        # b first, so the estate's leases are b's and must move when b dies.
        b = processes.bridge(
            isolated, "--config", str(path), "collect", "--host", "b", log=isolated.root / "b.log"
        )

        async def b_runs_the_estate() -> bool:
            assert b.poll() is None, (isolated.root / "b.log").read_text()
            return await estate_host(store, "schedule") == "b" and (
                await estate_host(store, "housekeeping") == "b"
            )

        await wait_until(b_runs_the_estate, START, what="b to take the estate's leases")
        a = processes.bridge(
            isolated, "--config", str(path), "collect", "--host", "a", log=isolated.root / "a.log"
        )

        async def both_alive() -> bool:
            assert a.poll() is None, (isolated.root / "a.log").read_text()
            fresh = {s.resource for s in await store.snapshots("local")} == {"a", "b"}
            return fresh and await host_states(store) == {"a": "up", "b": "up"}

        await wait_until(both_alive, START, what="two hosts alive with fresh samples")
        assert await estate_host(store, "schedule") == "b"  # a did not take it too
        names = {h.name for h in await store.collector_health()}
        assert {"local:a", "local:b"} <= names  # each host's health, not one over the other

        listed = bridge_cli(isolated, "--config", str(path), "hosts", "--json")
        assert listed.returncode == 0, listed.stderr
        rows: list[dict[str, Any]] = json.loads(listed.stdout)
        assert [(r["host"], r["state"], r["lease"]["name"]) for r in rows] == [
            ("a", "up", "collector:a"),
            ("b", "up", "collector:b"),
        ]
        assert all(r["last_reading"] is not None for r in rows)
        assert "schedule" in rows[1]["duties"] and rows[0]["duties"] == []

        # A job reported from "another host" lands in the shared schedule.
        done = bridge_cli(isolated, "--config", str(path), "job", "ok", "nightly", "--host", "b")
        assert done.returncode == 0, done.stderr
        (run,) = await store.job_runs("nightly")
        assert (run.status.value, run.actor) == ("ok", "tester@b")

        # A console on host a lists both hosts, and shows b's figures on `h`.
        app = console(config, db, "a")
        async with app.run_test(size=(120, 40)) as pilot:
            health = app.query_one(HealthPane)
            await wait_until(
                settled(
                    pilot,
                    lambda: "▸a ● up" in health_text(app) and " b ● up" in health_text(app),
                ),
                SHOWN,
                what="the host line with a and b alive",
            )
            assert health.snapshot is not None and health.snapshot.resource == "a"
            header = app.query_one(BridgeHeader)
            assert " a · 2 hosts " in header_text(header)
            await pilot.press("3", "h")
            await wait_until(
                settled(
                    pilot, lambda: health.snapshot is not None and health.snapshot.resource == "b"
                ),
                SHOWN,
                what="b's figures",
            )
            assert "▸b" in health_text(app)

            # SIGKILL b: b goes stale on the console and in `bridge hosts`; its estate
            # leases move to a; its own lease lapses (free for a new b collector).
            b.send_signal(signal.SIGKILL)
            killed = time.monotonic()
            assert b.wait(timeout=10) == -signal.SIGKILL
            await wait_until(
                settled(pilot, lambda: "STALE" in health_text(app)),
                STALE_AFTER + SHOWN,
                what="b's figures marked stale",
            )
            stale_in = time.monotonic() - killed
            await wait_until(
                settled(pilot, lambda: "▸b ○ down since" in health_text(app)),
                TAKEOVER,
                what="the host line showing b without a collector",
            )

            async def a_runs_the_estate() -> bool:
                return await estate_host(store, "schedule") == "a" and (
                    await estate_host(store, "housekeeping") == "a"
                )

            await wait_until(a_runs_the_estate, TAKEOVER, what="a to take over the estate")
            await wait_until(
                settled(pilot, lambda: " a · 2 hosts, 1 stale " in header_text(header)),
                SHOWN,
                what="the header counting b stale",
            )
            assert time.monotonic() - killed < TAKEOVER
        assert stale_in < STALE_AFTER + SHOWN
        lease = await store.lease(collector_lease("b"))
        assert lease is not None and lease.expires_at < time.time()  # lapsed: free to take
        listed = bridge_cli(isolated, "--config", str(path), "hosts", "--json")
        assert listed.returncode == 0, listed.stderr
        by_host = {r["host"]: r for r in json.loads(listed.stdout)}
        assert (by_host["b"]["state"], by_host["b"]["stale"]) == ("down", True)
        assert by_host["b"]["stale_since"] is not None
        assert by_host["a"]["state"] == "up" and "schedule" in by_host["a"]["duties"]
        table = bridge_cli(isolated, "--config", str(path), "hosts")
        assert table.returncode == 0 and "free (lapsed" in table.stdout, table.stdout
    finally:
        await store.close()


async def test_an_ack_in_one_console_is_seen_in_another(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    await seed_store(db)
    config = Config()
    one = console(config, db, "a", FixedClock(T0))
    two = console(config, db, "b", FixedClock(T0))
    async with one.run_test(size=(120, 40)) as p1, two.run_test(size=(120, 40)) as p2:
        events = one.query_one(EventsPane)
        await wait_until(settled(p1, lambda: bool(events.body.rows)), SHOWN, what="rows")
        key = events.body.current_key
        assert key is not None
        event_id = int(key)
        await wait_until(
            settled(p2, lambda: row_of(two, event_id) is not None), SHOWN, what="the row in two"
        )
        await p1.press("a")
        await prompt(p1, "seen on a")

        async def acked_in_two() -> bool:
            await p1.pause()
            await p2.pause()
            return (row_of(two, event_id) or ())[STATE] == "ack"

        await wait_until(acked_in_two, SHOWN, what="the ack shown in the other console")
        event = await two.store.get_event(event_id)
        assert event is not None and event.state is EventState.ACKNOWLEDGED
        assert event.acked_by == "op-a"


def test_devices_go_to_their_poller_and_the_rest_to_the_estate() -> None:
    config = Config.model_validate(
        {
            "local": {"enabled": False},
            "devices": [
                {"name": "sw-a", "address": "127.0.0.1", "poller": "a"},
                {"name": "sw-b", "address": "127.0.0.1", "poller": "b"},
                {"name": "sw-any", "address": "127.0.0.1"},
            ],
        }
    )
    assert [c.name for c in build_collectors(config, "a", assigned=True)] == ["snmp:sw-a"]
    assert [c.name for c in build_collectors(config, "b", assigned=True)] == ["snmp:sw-b"]
    assert [c.name for c in build_collectors(config, "a", assigned=False)] == ["snmp:sw-any"]


def test_check_config_names_the_host_and_each_devices_poller(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[local]\nhost = "db1"\n\n[[devices]]\nname = "sw1"\naddress = "127.0.0.1"\n'
        'poller = "db1"\n',
        name="hosts.toml",
    )
    shown = bridge_cli(isolated, "--config", str(path), "check-config")
    assert shown.returncode == 0, shown.stderr
    assert "host:     db1 (its collector holds the lease collector:db1)" in shown.stdout
    assert "every 30 s, polled by db1" in shown.stdout
    flagged = bridge_cli(isolated, "--config", str(path), "check-config", "--host", "web1")
    assert "host:     web1 " in flagged.stdout


def test_the_host_is_named_by_flag_then_env_then_config(monkeypatch: pytest.MonkeyPatch) -> None:
    config = Config.model_validate({"local": {"host": "from-config"}})
    monkeypatch.delenv("BRIDGE_HOST", raising=False)
    assert host_name(config) == "from-config"
    monkeypatch.setenv("BRIDGE_HOST", "from-env")
    assert host_name(config) == "from-env"
    assert host_name(config, "from-flag") == "from-flag"
    monkeypatch.delenv("BRIDGE_HOST")
    assert host_name(Config()) == host_name()  # the system's host name


async def test_each_estate_duty_runs_once_and_moves_when_its_holder_stops(tmp_path: Path) -> None:
    """In one process, quick: two hosts' pollers on one store split nothing twice."""
    config = Config.model_validate({"jobs": [{"name": "nightly", "schedule": "0 2 * * *"}]})
    store = await open_store(tmp_path / "bridge.db")
    pollers = {h: Poller(store, config, SystemClock(), [], lease_ttl=0.6, host=h) for h in "ab"}
    tasks = {h: asyncio.create_task(p.run()) for h, p in pollers.items()}
    try:

        async def split() -> bool:
            return all(p.holds_lease for p in pollers.values()) and all(
                sum(p.holds(d) for p in pollers.values()) == 1 for d in ("schedule", "housekeeping")
            )

        await wait_until(split, SHOWN, what="both hosts polling, each duty held once")
        holder = next(h for h, p in pollers.items() if p.holds("schedule"))
        other = "b" if holder == "a" else "a"
        tasks[holder].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await tasks[holder]

        async def moved() -> bool:
            return pollers[other].holds("schedule") and pollers[other].holds("housekeeping")

        await wait_until(moved, SHOWN, what="the estate's duties moving to the other host")
        assert await store.lease(collector_lease(holder)) is None  # stopped: released
    finally:
        for task in tasks.values():
            task.cancel()
        await asyncio.gather(*tasks.values(), return_exceptions=True)
        await store.close()
