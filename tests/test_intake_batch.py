"""Group commits in the intake: concurrent `POST /api/v1/events` share one store
transaction. Real curl, a real SQLite file; the queue is made to fill by holding
SQLite's write lock from a second connection (as another process would), and a
failing transaction is a real SQLite trigger refusing one event."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import wait_until
from test_intake import API, CURL, Served, alert, event, http, served, webhook

from bridge.core.models import EventState

pytestmark = pytest.mark.skipif(CURL is None, reason="curl is not installed")


@contextmanager
def write_lock(db: Path) -> Iterator[None]:
    """SQLite's write lock held by another connection: the intake's commit waits."""
    other = sqlite3.connect(db, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


async def event_transactions(srv: Served) -> int:
    return sum(c.kind == "events" for c in await srv.store.changes_since(0))


async def post(srv: Served, body: object) -> tuple[int, object]:
    return await http(f"{srv.url}/api/v1/events", "POST", json.dumps(body).encode(), API)


async def queued(srv: Served, count: int) -> None:
    """Until `count` requests are in the running commit or waiting for the next."""
    commit = srv.intake.events_commit

    async def all_in() -> bool:
        return commit.requests + commit.waiting >= count

    await wait_until(all_in, 4, interval=0.01, what=f"{count} requests queued")


async def test_concurrent_requests_share_transactions_and_all_are_stored(
    tmp_path: Path,
) -> None:
    requests = 24
    # Requests i and i + 12 raise the same event: dedup holds within one batch.
    bodies = [event(resource=f"db{i % 12}", summary=f"dump {i} failed") for i in range(requests)]
    async with served(tmp_path) as srv:
        before = await event_transactions(srv)
        with write_lock(tmp_path / "bridge.db"):
            answers = [asyncio.create_task(post(srv, body)) for body in bodies]
            await queued(srv, requests)
        results = await asyncio.gather(*answers)
        assert [code for code, _ in results] == [200] * requests, results
        ids = [body["ids"] for _, body in results]  # type: ignore[index]
        assert all(len(one) == 1 and isinstance(one[0], int) for one in ids)
        assert ids[:12] == ids[12:]  # the same event, deduplicated
        assert len({one[0] for one in ids}) == 12
        for (event_id,) in ids[:12]:
            stored = await srv.store.get_event(event_id)
            assert stored is not None and stored.count == 2
        transactions = await event_transactions(srv) - before
        assert transactions == srv.intake.events_commit.commits
        assert 1 <= transactions < requests, transactions
        assert srv.intake.events_commit.requests == requests


def poison(db: Path) -> None:
    """A real SQLite trigger that refuses any event whose resource is `poison`."""
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.resource = 'poison' "
        "BEGIN SELECT RAISE(ABORT, 'poisoned'); END"
    )
    conn.commit()
    conn.close()


async def test_alertmanager_sending_a_refused_resolve_again_clears(tmp_path: Path) -> None:
    async with served(tmp_path) as srv:
        poison(tmp_path / "bridge.db")
        url = f"{srv.url}/api/v1/alertmanager"
        assert (await http(url, "POST", webhook(alert()), API))[0] == 200
        # Resolved with a poisoned alert beside it: the transaction fails whole.
        doomed = webhook(alert("resolved"), alert(instance="poison"))
        code, body = await http(url, "POST", doomed, API)
        assert code == 503 and list(body) == ["error"], body
        key = "alertmanager|db1:9100|DiskFull"
        still = await srv.store.find_event(key)
        assert still is not None and still.state is EventState.OPEN
        # Alertmanager sends it again: now it clears.
        assert (await http(url, "POST", webhook(alert("resolved")), API)) == (
            200, {"alerts": 1, "changed": 1}
        )  # fmt: skip
        cleared = await srv.store.find_event(key)
        assert cleared is not None and cleared.state is EventState.RESOLVED


async def test_a_failed_batch_fails_its_requests_and_stores_nothing_of_them(
    tmp_path: Path,
) -> None:
    async with served(tmp_path) as srv:
        db = tmp_path / "bridge.db"
        poison(db)
        with write_lock(db):
            # The first request's commit waits on the lock; the rest queue behind it
            # and go into the next transaction together, the poisoned one among them.
            first = asyncio.create_task(post(srv, event(resource="first")))
            await queued(srv, 1)

            async def first_running() -> bool:
                return srv.intake.events_commit.waiting == 0

            await wait_until(first_running, 4, interval=0.01, what="the first commit to start")
            names = ["a", "b", "poison", "c", "d"]
            rest = [asyncio.create_task(post(srv, event(resource=n))) for n in names]
            # A clear of the first event in the same doomed transaction.
            rest.append(asyncio.create_task(post(srv, event(resource="first", severity="ok"))))
            await queued(srv, 2 + len(names))
        assert (await first)[0] == 200
        for code, body in await asyncio.gather(*rest):
            assert code == 503, body
            assert isinstance(body, dict) and list(body) == ["error"]
            assert "nothing of them was" in body["error"]
        stored = await srv.store.list_events(include_resolved=True)
        assert [(e.resource, e.state) for e in stored] == [("first", EventState.OPEN)]
        assert srv.intake.stats.errors["store"] == len(names) + 1
        assert srv.intake.events_commit.failed == 1
        # The next batch is tried afresh, and a refused request sent again is taken:
        # the clear too, though the rules had seen it once.
        code, body = await post(srv, event(resource="after"))
        assert code == 200, body
        assert await srv.store.find_event("backup|after|dump") is not None
        assert (await post(srv, event(resource="first", severity="ok")))[0] == 200
        cleared = await srv.store.find_event("backup|first|dump")
        assert cleared is not None and cleared.state is EventState.RESOLVED
