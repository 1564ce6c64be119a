"""Many processes on one store: concurrent writers, the change feed meanwhile, and a
lease whose holder is killed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path

from conftest import Isolated, Processes, wait_until

from bridge.core.models import Change, EventInput, Severity
from bridge.core.outbox import OutboxNew
from bridge.store import Store, open_store

WRITERS = 4
READINGS = 60  # per writer
RAISES = 15  # per writer, all on one shared event

# A writer: opens the store, says it is ready, waits for the go file (so all four
# write at once), then commits readings (each its own change, ref "w|<writer>-<n>")
# and raises of one shared event (a read-modify-write that must not lose a count).
WRITER = """\
import asyncio, sys, time
from pathlib import Path
from bridge.core.models import EventInput, Severity
from bridge.store import open_store
from collectors.base import Reading

async def main(url, name, go, readings, raises):
    store = await open_store(url)
    try:
        Path(f"{go}.{name}").touch()  # open and ready
        deadline = time.monotonic() + 30
        while not Path(go).exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go")
            await asyncio.sleep(0.01)
        started = time.time()
        for n in range(readings):
            await store.write_reading(Reading("w", f"{name}-{n}", time.time(), {"x": n}), {})
            if n % (readings // raises) == 0:
                await store.upsert_events(
                    [EventInput("local", "shared", "cpu", Severity.MAJOR, name, time.time())],
                    name,
                )
        ended = time.time()
    finally:
        await store.close()
    print(f"done {started!r} {ended!r}", flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
"""

# A rival: with the others at once, acknowledges one event and empties the outbox,
# printing whether its ack went through and the ids of the items it claimed.
RIVAL = """\
import asyncio, json, sys, time
from pathlib import Path
from bridge.core.actions import Action
from bridge.store import open_store

async def main(url, name, go, event_id):
    store = await open_store(url)
    try:
        Path(f"{go}.{name}").touch()  # open and ready
        deadline = time.monotonic() + 30
        while not Path(go).exists():
            if time.monotonic() > deadline:
                raise SystemExit("no go")
            await asyncio.sleep(0.01)
        [ack] = await store.act([event_id], Action.ACK, name, time.time())
        claimed = []
        while batch := await store.outbox_claim(time.time() + 1, 3):
            claimed.extend(item.id for item in batch)
    finally:
        await store.close()
    print(json.dumps({"ack": ack.ok, "claimed": claimed}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
"""

# A lease holder: keeps the lease `contract` by heartbeat and says so once.
HOLDER = """\
import asyncio, os, sys, time
from bridge.store import open_store

async def main(url, ttl):
    store = await open_store(url)
    said = False
    while True:
        if await store.try_lease("contract", f"child:{os.getpid()}", ttl, time.time()):
            if not said:
                print("held", flush=True)
                said = True
        await asyncio.sleep(ttl / 3)

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""
TTL = 1.5


async def all_ready(go: Path, count: int) -> None:
    """Wait until every child has opened the store, so that `go` starts them at once."""

    async def ready() -> bool:
        return len(list(go.parent.glob(f"{go.name}.*"))) == count

    await wait_until(ready, within=30, what="the children to open the store")


async def everything(store: Store) -> list[Change]:
    out: list[Change] = []
    while batch := await store.changes_since(out[-1].seq if out else 0, 1000):
        out.extend(batch)
    return out


async def test_concurrent_writers_and_the_feed_meanwhile(
    store_url: str, store: Store, isolated: Isolated, processes: Processes, tmp_path: Path
) -> None:
    """4 writer processes commit at once while this one follows the feed: every
    committed change is seen, once, in strictly increasing seq, none skipped."""
    go = tmp_path / "go"
    procs = [
        processes.start(
            [sys.executable, "-c", WRITER, store_url, f"w{i}", str(go), str(READINGS), str(RAISES)],
            isolated.env,
        )
        for i in range(WRITERS)
    ]
    seen: list[Change] = []
    seq = await store.last_seq()
    await all_ready(go, WRITERS)
    go.touch()
    deadline = time.monotonic() + 25
    while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
        batch = await store.wait_for_changes(seq, 0.2, limit=50)
        if batch:
            seq = batch[-1].seq
            seen.extend(batch)
    spans = []
    for p in procs:
        out, err = p.communicate(timeout=10)
        assert p.returncode == 0 and out.startswith("done "), err
        spans.append([float(t) for t in out.split()[1:]])
    # They wrote at once: every writer started before any had finished.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    while batch := await store.wait_for_changes(seq, 0):  # what the last commits added
        seq = batch[-1].seq
        seen.extend(batch)

    seqs = [c.seq for c in seen]
    assert seqs == sorted(set(seqs)), "seq not strictly increasing"
    assert seen == await everything(store), "the live feed skipped or invented a change"
    refs = [c.ref for c in seen if c.kind == "reading"]
    expected = {f"w|w{i}-{n}" for i in range(WRITERS) for n in range(READINGS)}
    assert len(refs) == len(expected) and set(refs) == expected
    assert sum(c.kind == "events" for c in seen) == WRITERS * RAISES
    shared = await store.find_event("local|shared|cpu")
    assert shared is not None and shared.count == WRITERS * RAISES  # no lost update
    assert len(await store.snapshots("w")) == WRITERS * READINGS


async def test_rivals_never_both_win(
    store_url: str, store: Store, isolated: Isolated, processes: Processes, tmp_path: Path
) -> None:
    """4 processes acknowledge one event and drain one outbox at once: one ack wins
    (the rest are refused), and each item is claimed by exactly one of them."""
    await store.upsert_events(
        [EventInput("local", "h1", "cpu", Severity.MAJOR, "hot", time.time())], "rules"
    )
    event = await store.find_event("local|h1|cpu")
    assert event is not None
    items = [OutboxNew("hook", "r", n, "{}") for n in range(1, 41)]
    assert await store.outbox_enqueue(items, time.time()) == len(items)
    go = tmp_path / "go"
    procs = [
        processes.start(
            [sys.executable, "-c", RIVAL, store_url, f"op{i}", str(go), str(event.id)],
            isolated.env,
        )
        for i in range(WRITERS)
    ]
    await all_ready(go, WRITERS)
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=30)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    assert sum(r["ack"] for r in results) == 1
    claimed = [i for r in results for i in r["claimed"]]
    assert sorted(claimed) == sorted(i.id for i in await store.outbox_items(limit=100))
    assert len(claimed) == len(set(claimed)) == len(items)
    acked = await store.get_event(event.id)
    assert acked is not None and acked.acked_by in {f"op{i}" for i in range(WRITERS)}


async def test_lease_taken_over_after_the_holder_is_killed(
    store_url: str, store: Store, isolated: Isolated, processes: Processes
) -> None:
    holder = processes.start([sys.executable, "-c", HOLDER, store_url, str(TTL)], isolated.env)
    assert holder.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(holder.stdout.readline), 20)
    assert line.strip() == "held", holder.stderr.read() if holder.stderr else ""
    lease = await store.lease("contract")
    assert lease is not None and lease.holder == f"child:{holder.pid}"
    assert not await store.try_lease("contract", "me", TTL, time.time())

    os.kill(holder.pid, signal.SIGKILL)
    holder.wait(timeout=10)
    dead = await store.lease("contract")
    assert dead is not None and dead.holder == lease.holder  # a killed holder releases nothing
    # Nobody renews it now; it stays the dead holder's until it lapses, then it is ours.
    await wait_until(
        lambda: store.try_lease("contract", "me", TTL, time.time()),
        within=TTL + 5,
        interval=0.1,
        what="the lease to be taken over",
    )
    mine = await store.lease("contract")
    assert mine is not None and mine.holder == "me"
    assert mine.acquired_at >= dead.expires_at - 0.2  # not before the dead one's lapsed
    other = await open_store(store_url)
    try:
        assert not await other.try_lease("contract", "child:again", TTL, time.time())
    finally:
        await other.close()
