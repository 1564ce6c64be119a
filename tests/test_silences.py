"""Silences written back to a real Alertmanager when an Alertmanager event is shelved.

A real `prometheus-alertmanager` on 127.0.0.1 routes its alerts to the lease
holder's intake (a real Poller over a real SQLite file) and to a recorder; the
shelves come through the store call the console makes and through the real
`bridge events` command line. What Alertmanager says (`GET /api/v2/silences`,
`GET /api/v2/alerts`) and what it keeps sending are the proof.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from am_peer import Alertmanager, free_port, needs_alertmanager, run_alertmanager
from conftest import Isolated, run_bridge, settled, wait_until
from http_server import Behaviour, TestServer, serve

from bridge.config.file import Config, parse_config
from bridge.core.actions import Action
from bridge.core.clock import FixedClock, SystemClock
from bridge.core.models import Event, EventInput, Severity
from bridge.runtime.poller import Poller
from bridge.runtime.silences import (
    SILENCE_ERROR,
    SILENCE_TARGET,
    SILENCED,
    UNSILENCED,
    SilenceWriter,
    matchers_for,
)
from bridge.store import Store, open_store

API = "am-token-SECRET-0123456789abcdef"
AM_SECRET = "writeback-SECRET-token-0123456789"
DISK = {"alertname": "DiskFull", "instance": "db1:9100", "severity": "critical"}
MARKER = {"alertname": "DiskFull", "instance": "db2:9100", "severity": "warning"}
KEY = "alertmanager|db1:9100|DiskFull"


def firing(labels: dict[str, str]) -> dict[str, Any]:
    return {
        "labels": labels,
        "annotations": {"summary": f"disk on {labels['instance']} is 97% full"},
        "generatorURL": "http://prometheus:9090/graph",
    }


@dataclass
class Estate:
    store: Store
    config_path: Path
    intake: str  # the intake's base URL
    am_port: int
    recorder: TestServer


def config_text(db: Path, port: int, am_port: int, backoff: float) -> str:
    return f"""
[store]
path = "{db}"

[intake]
enabled = true
port = {port}

[[intake.tokens]]
name = "alertmanager"
token = "{API}"
allow = ["alertmanager", "events"]

[alertmanager]
url = "http://127.0.0.1:{am_port}/"
token = "{AM_SECRET}"
timeout = 2
backoff = {backoff}
"""


@contextlib.asynccontextmanager
async def estate(tmp_path: Path, *, backoff: float = 1.0) -> AsyncIterator[Estate]:
    """The lease holder (intake and outbox) over a store file, and a recorder for
    what Alertmanager sends; Alertmanager itself is started by the test."""
    port, am_port = free_port(), free_port()
    db = tmp_path / "bridge.db"
    path = tmp_path / "bridge.toml"
    path.write_text(config_text(db, port, am_port, backoff), encoding="utf-8")
    config: Config = parse_config(path.read_text(encoding="utf-8"), str(path))
    store = await open_store(db)
    task = asyncio.create_task(Poller(store, config, SystemClock(), collectors=[]).run())
    intake = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(timeout=5) as client:

            async def answers() -> bool:
                try:
                    return (await client.get(f"{intake}/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await wait_until(answers, 15, interval=0.1, what="the intake to answer")
        with serve() as recorder:
            recorder.route("/am", Behaviour())
            yield Estate(store, path, intake, am_port, recorder)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await store.close()


def hooks(e: Estate) -> list[tuple[str, str | None]]:
    return [(f"{e.intake}/api/v1/alertmanager", API), (e.recorder.url("/am"), None)]


async def event_for(store: Store, key: str) -> Event:
    async def there() -> bool:
        return await store.find_event(key) is not None

    await wait_until(there, 20, interval=0.1, what=f"the event {key}")
    found = await store.find_event(key)
    assert found is not None
    return found


async def active_silences(am: Alertmanager) -> list[dict[str, Any]]:
    return [s for s in await am.silences() if s["status"]["state"] == "active"]


async def one_active(am: Alertmanager) -> dict[str, Any]:
    async def silenced() -> bool:
        return len(await active_silences(am)) == 1

    await wait_until(silenced, 20, interval=0.1, what="an active silence in Alertmanager")
    (silence,) = await active_silences(am)
    return silence


async def expired(am: Alertmanager, silence_id: str) -> None:
    async def gone() -> bool:
        states = {s["id"]: s["status"]["state"] for s in await am.silences()}
        return states.get(silence_id) == "expired"

    await wait_until(gone, 20, interval=0.1, what=f"silence {silence_id} expired")


async def journalled(store: Store, event_id: int, line: tuple[str, str]) -> None:
    """Wait for the writer's journal line: it is written after Alertmanager answers,
    so Alertmanager can show the silence a moment before the journal does."""

    async def there() -> bool:
        return line in await actions(store, event_id)

    await wait_until(there, 10, interval=0.05, what=f"the journal line {line}")


def parse_time(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def sent(recorder: TestServer, instance: str) -> int:
    """How many notifications the recorder had that carry the firing alert on `instance`."""
    n = 0
    for seen in recorder.requests("/am"):
        for a in json.loads(seen.body)["alerts"]:
            n += a["labels"]["instance"] == instance and a["status"] == "firing"
    return n


def matchers(labels: dict[str, str]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v, "isRegex": False, "isEqual": True}
            for k, v in sorted(labels.items())]  # fmt: skip


async def actions(store: Store, event_id: int) -> list[tuple[str, str]]:
    return [(j.action, j.note) for j in reversed(await store.journal(event_id))]


@pytest.mark.slow
@needs_alertmanager
async def test_a_console_shelve_silences_the_alert_and_unshelve_expires_it(
    tmp_path: Path,
) -> None:
    async with estate(tmp_path) as e, run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
        await am.post_alerts(firing(DISK), firing(MARKER))
        event = await event_for(e.store, KEY)
        now = SystemClock().now()
        until = now + 1800
        # The call the console's shelve makes (EventsPane: store.act with the operator).
        [result] = await e.store.act([event.id], Action.SHELVE, "alice", now,
                                     note="replacing the disk", until=until)  # fmt: skip
        assert result.ok
        silence = await one_active(am)
        assert silence["createdBy"] == "alice"
        assert silence["comment"] == "replacing the disk"
        assert sorted(silence["matchers"], key=lambda m: m["name"]) == matchers(DISK)
        assert abs(parse_time(silence["endsAt"]) - until) < 1
        assert parse_time(silence["startsAt"]) <= SystemClock().now() + 1
        await journalled(e.store, event.id, (SILENCED, f"Alertmanager silence {silence['id']} until "
                         f"{dt.datetime.fromtimestamp(until, dt.UTC):%Y-%m-%d %H:%M} UTC"))  # fmt: skip

        async def suppressed() -> bool:
            for a in await am.alerts():
                if a["labels"]["instance"] == "db1:9100":
                    return bool(a["status"]["state"] == "suppressed"
                                and a["status"]["silencedBy"] == [silence["id"]])  # fmt: skip
            return False

        await wait_until(suppressed, 20, interval=0.1, what="the alert suppressed")
        # Alertmanager stops sending it: the marker alert (not silenced) is sent twice
        # more meanwhile, one repeat after another, and the silenced one not once.
        before, marker = sent(e.recorder, "db1:9100"), sent(e.recorder, "db2:9100")

        async def repeated() -> bool:
            return sent(e.recorder, "db2:9100") >= marker + 2

        await wait_until(repeated, 20, interval=0.1, what="two repeats of the other alert")
        assert sent(e.recorder, "db1:9100") == before

        # Shelved again for longer: the same alert keeps one silence, now to the new end.
        later = SystemClock().now() + 3600
        [result] = await e.store.act([event.id], Action.SHELVE, "dave", SystemClock().now(),
                                     until=later)  # fmt: skip
        assert result.ok

        async def extended() -> bool:
            active = await active_silences(am)
            return len(active) == 1 and abs(parse_time(active[0]["endsAt"]) - later) < 1

        await wait_until(extended, 20, interval=0.1, what="the silence extended")
        (silence,) = await active_silences(am)
        assert silence["createdBy"] == "dave"

        # Unshelving expires it, and Alertmanager sends the alert again.
        [result] = await e.store.act([event.id], Action.UNSHELVE, "alice", SystemClock().now())
        assert result.ok
        await expired(am, silence["id"])
        await journalled(
            e.store, event.id, (UNSILENCED, f"Alertmanager silence {silence['id']} expired")
        )

        async def sent_again() -> bool:
            return sent(e.recorder, "db1:9100") > before

        await wait_until(sent_again, 20, interval=0.1, what="the alert sent again")

        async def all_settled() -> bool:  # the expiry settles after it asked for the alert
            counts = await e.store.outbox_counts()
            return counts["delivered"] == 3 and counts["pending"] == 0

        await wait_until(all_settled, 10, interval=0.1, what="three deliveries settled")


@pytest.mark.slow
@needs_alertmanager
async def test_the_console_s_key_silences_the_alert(tmp_path: Path) -> None:
    from textual.widgets import Input

    from bridge.ui.app import create_app
    from bridge.ui.panes.events import EventsPane
    from bridge.ui.screens.modals import PromptScreen

    async with estate(tmp_path) as e, run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
        await am.post_alerts(firing(DISK))
        event = await event_for(e.store, KEY)
        config = parse_config(e.config_path.read_text(encoding="utf-8"), str(e.config_path))
        # A second console beside the lease holder, as an operator's: it only acts.
        app = create_app(config, operator="erin", store_path=tmp_path / "bridge.db",
                         clock=FixedClock(SystemClock().now()), collect=False,
                         hostname="bridge-test", feed_interval=0.05)  # fmt: skip
        async with app.run_test(size=(120, 40)) as pilot:
            events = app.query_one(EventsPane)
            await wait_until(settled(pilot, lambda: events.body.current_key == str(event.id)),
                             10, what="the event's row")  # fmt: skip
            await pilot.press("s")
            for asks, answer in (("how long", "30m"), ("Reason", "vendor on site")):

                def asking(asks: str = asks) -> bool:
                    screen = app.screen
                    return isinstance(screen, PromptScreen) and asks in screen.question

                await wait_until(settled(pilot, asking), 5, what=f"the prompt {asks!r}")
                app.screen.query_one("#prompt-input", Input).value = ""
                await pilot.press(*answer, "enter")
            silence = await one_active(am)
        assert silence["createdBy"] == "erin" and silence["comment"] == "vendor on site"
        assert sorted(silence["matchers"], key=lambda m: m["name"]) == matchers(DISK)


@pytest.mark.slow
@needs_alertmanager
async def test_the_command_line_shelves_and_a_resolve_or_an_ack_never_silences(
    tmp_path: Path, isolated: Isolated
) -> None:
    async with estate(tmp_path) as e, run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
        await am.post_alerts(firing(DISK), firing(MARKER))
        disk = await event_for(e.store, KEY)
        other = await event_for(e.store, "alertmanager|db2:9100|DiskFull")
        conf = ("--config", str(e.config_path), "--operator", "bob")

        # An ack is bridge's own state: no silence, nothing queued.
        done = await asyncio.to_thread(run_bridge, isolated, "events", "ack", str(other.id), *conf)
        assert done.returncode == 0, done.stderr
        shelve = ("events", "shelve", str(disk.id), "--for", "30m", *conf)
        began = SystemClock().now()
        done = await asyncio.to_thread(run_bridge, isolated, *shelve)
        assert done.returncode == 0, done.stderr
        silence = await one_active(am)
        assert silence["createdBy"] == "bob"
        assert silence["comment"] == f"shelved in bridge (event {disk.id})"  # no --note given
        assert abs(parse_time(silence["endsAt"]) - (began + 1800)) < 30
        assert sorted(silence["matchers"], key=lambda m: m["name"]) == matchers(DISK)
        assert [i.target for i in await e.store.outbox_items()] == [SILENCE_TARGET]
        assert not [a for a, _ in await actions(e.store, other.id) if a == SILENCED]

        # Resolved by hand while shelved: the shelve is over, so is the silence.
        resolve = ("events", "resolve", str(disk.id), "--note", "disk replaced", *conf)
        done = await asyncio.to_thread(run_bridge, isolated, *resolve)
        assert done.returncode == 0, done.stderr
        await expired(am, silence["id"])
        assert await active_silences(am) == []
        assert AM_SECRET not in done.stdout + done.stderr


@pytest.mark.slow
@needs_alertmanager
async def test_an_alert_that_ended_while_silenced_clears_its_event_when_unshelved(
    tmp_path: Path,
) -> None:
    async with estate(tmp_path) as e, run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
        await am.post_alerts(firing(DISK))
        event = await event_for(e.store, KEY)
        now = SystemClock().now()
        await e.store.act([event.id], Action.SHELVE, "alice", now, until=now + 1800)
        silence = await one_active(am)
        # It ends in Alertmanager; the silence mutes its resolution as it muted it.
        await am.post_alerts({**firing(DISK), "endsAt": "2000-01-01T00:00:00Z"})

        async def ended() -> bool:
            return await am.alerts() == []

        await wait_until(ended, 20, interval=0.1, what="the alert resolved in Alertmanager")
        await e.store.act([event.id], Action.UNSHELVE, "alice", SystemClock().now())
        await expired(am, silence["id"])

        async def cleared() -> bool:
            found = await e.store.find_event(KEY)
            return found is not None and found.state.value == "resolved"

        await wait_until(cleared, 20, interval=0.1, what="the event cleared")
        assert ("resolve", "resolved in Alertmanager while silenced") in await actions(
            e.store, event.id
        )


@pytest.mark.slow
@needs_alertmanager
async def test_an_alertmanager_restarted_while_silenced_clears_nothing(tmp_path: Path) -> None:
    async with estate(tmp_path) as e:
        async with run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
            await am.post_alerts(firing(DISK))
            event = await event_for(e.store, KEY)
            now = SystemClock().now()
            await e.store.act([event.id], Action.SHELVE, "alice", now, until=now + 1800)
            silence = await one_active(am)
        # Restarted (same data: the silence is kept, the alerts are not, until
        # Prometheus sends them again): an absent alert is not an ended one.
        async with run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
            assert [s["id"] for s in await active_silences(am)] == [silence["id"]]
            assert await am.alerts() == []
            await e.store.act([event.id], Action.UNSHELVE, "alice", SystemClock().now())
            await expired(am, silence["id"])

            async def settled() -> bool:
                return (await e.store.outbox_counts())["delivered"] == 2

            await wait_until(settled, 20, interval=0.1, what="the expiry settled")
            found = await e.store.find_event(KEY)
            assert found is not None and found.state.value == "open"


@pytest.mark.slow
@needs_alertmanager
async def test_a_dead_alertmanager_is_shown_on_the_event_and_retried_until_it_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with estate(tmp_path, backoff=0.3) as e:
        # Alertmanager's webhook, as it would send it, straight to the intake.
        payload = {"version": "4", "status": "firing", "receiver": "bridge", "alerts": [
            {"status": "firing", "labels": DISK, "annotations": {"summary": "disk full"},
             "startsAt": "2026-12-07T10:00:00Z", "endsAt": "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus:9090/graph", "fingerprint": "d1sk"}]}  # fmt: skip
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.post(f"{e.intake}/api/v1/alertmanager", json=payload,
                                       headers={"Authorization": f"Bearer {API}"})  # fmt: skip
            assert answer.status_code == 200, answer.text
        event = await event_for(e.store, KEY)
        now = SystemClock().now()
        await e.store.act([event.id], Action.SHELVE, "carol", now, note="known", until=now + 600)

        async def retried() -> bool:
            items = await e.store.outbox_items()
            return bool(items) and items[0].attempts >= 3

        await wait_until(retried, 20, interval=0.1, what="three attempts")
        (item,) = await e.store.outbox_items()
        assert item.last_error is not None and "ConnectError" in item.last_error
        errors = [n for a, n in await actions(e.store, event.id) if a == SILENCE_ERROR]
        assert len(errors) == 1, errors  # the first failure, not one line per retry
        assert errors[0].startswith("Alertmanager silence not created: ConnectError")
        assert "retrying in 0.3 s" in errors[0]

        # Alertmanager comes up on its address: the next retry creates the silence.
        async with run_alertmanager(tmp_path / "am", e.am_port, hooks(e)) as am:
            silence = await one_active(am)
            assert silence["createdBy"] == "carol" and silence["comment"] == "known"

            async def recorded() -> bool:
                return any(a == SILENCED for a, _ in await actions(e.store, event.id))

            await wait_until(recorded, 10, interval=0.1, what="the silence in the journal")
            (note,) = [n for a, n in await actions(e.store, event.id) if a == SILENCED]
            assert note.startswith(f"Alertmanager silence {silence['id']} until ")
            assert "attempts)" in note
            (item,) = await e.store.outbox_items()
            assert item.status.value == "delivered" and item.attempts >= 4
        assert AM_SECRET not in caplog.text


# -- what the journal asks of Alertmanager (no Alertmanager needed: nothing is sent) -----
T0 = 1_795_000_000.0


async def raised(store: Store, labels: dict[str, str], source: str = "alertmanager") -> int:
    evidence = {"labels": labels, "fingerprint": labels["instance"]}
    await store.upsert_events([EventInput(source, labels["instance"], labels["alertname"],
                                          Severity.CRITICAL, "disk full", T0,
                                          evidence=evidence)], "intake:am")  # fmt: skip
    found = await store.find_event(f"{source}|{labels['instance']}|{labels['alertname']}")
    assert found is not None
    return found.id


def writer(store: Store, clock: FixedClock) -> SilenceWriter:
    config = parse_config('[alertmanager]\nurl = "http://127.0.0.1:9"\n', "t.toml")
    return SilenceWriter(store, config.alertmanager, clock)


async def queued(store: Store) -> list[tuple[str, int, dict[str, Any]]]:
    items = sorted(await store.outbox_items(), key=lambda i: i.id)
    return [(i.rule.split(":")[0], i.event_id, json.loads(i.payload)) for i in items]


async def test_only_shelves_of_alertmanager_events_are_queued_and_once(store: Store) -> None:
    clock = FixedClock(T0)
    disk = await raised(store, DISK)
    other = await raised(store, MARKER)
    script = await raised(store, {**DISK, "instance": "web1"}, source="script")
    w = writer(store, clock)
    assert await w.enqueue(T0) == 0  # the raises ask nothing
    await store.act([other], Action.ACK, "alice", T0 + 1)  # an ack never silences
    await store.act([script], Action.SHELVE, "alice", T0 + 1, until=T0 + 600)  # not from AM
    await store.act([disk], Action.SHELVE, "alice", T0 + 2, note="swap it", until=T0 + 1800)
    assert await w.enqueue(T0 + 3) == 1
    [(op, event_id, payload)] = await queued(store)
    assert (op, event_id) == ("silence", disk)
    assert payload == {"op": "create", "until": T0 + 1800, "createdBy": "alice",
                       "comment": "swap it", "matchers": matchers(DISK)}  # fmt: skip
    assert await w.enqueue(T0 + 4) == 0
    # A restarted lease holder catches up with the day's journal and queues nothing twice.
    assert await writer(store, clock).enqueue(T0 + 5) == 0

    # The ack of a shelved event ends its shelve: the silence is to be expired.
    await store.act([disk], Action.ACK, "bob", T0 + 10)
    assert await w.enqueue(T0 + 11) == 1
    assert [(op, e) for op, e, _ in await queued(store)] == [("silence", disk), ("expire", disk)]
    await store.act([other], Action.UNACK, "bob", T0 + 12)
    await store.act([other], Action.ACK, "bob", T0 + 13)
    assert await w.enqueue(T0 + 14) == 0


async def test_a_shelve_ended_before_it_was_seen_queues_nothing(store: Store) -> None:
    clock = FixedClock(T0)
    disk = await raised(store, DISK)
    w = writer(store, clock)
    assert await w.enqueue(T0) == 0
    await store.act([disk], Action.SHELVE, "alice", T0 + 1, until=T0 + 600)
    await store.act([disk], Action.UNSHELVE, "alice", T0 + 2)
    assert await w.enqueue(T0 + 3) == 0
    assert await queued(store) == []


async def test_the_writer_skips_a_storm_of_other_journal_lines(store: Store) -> None:
    clock = FixedClock(T0)
    disk = await raised(store, DISK)
    w = writer(store, clock)
    await w.enqueue(T0)
    start = w.cursor
    for i in range(30):  # notes: journal lines the writer does not follow
        await store.act([disk], Action.NOTE, "alice", T0 + i, note=f"looked {i}")
    assert await w.enqueue(T0 + 40) == 0
    assert w.cursor is not None and start is not None and w.cursor == start + 30
    entries, top = await store.journal_after(start, actions=["note"], limit=10)
    assert [e.note for e in entries] == [f"looked {i}" for i in range(10)]
    assert top == entries[-1].id  # cut short by the limit: carry on from there


def test_only_a_proper_label_set_becomes_matchers() -> None:
    assert matchers_for({"labels": {"b": "2", "a": "1"}}) == [
        {"name": "a", "value": "1", "isRegex": False, "isEqual": True},
        {"name": "b", "value": "2", "isRegex": False, "isEqual": True},
    ]
    refused: list[dict[str, Any] | None] = [
        None, {}, {"labels": {}}, {"labels": {"a": 1}}, {"labels": ["a"]}, {"labels": {"a": ""}}
    ]  # fmt: skip
    for evidence in refused:
        assert matchers_for(evidence) is None


async def test_an_event_without_labels_says_so_on_its_journal(store: Store) -> None:
    clock = FixedClock(T0)
    await store.upsert_events([EventInput("alertmanager", "x", "Sent", Severity.MAJOR, "by API",
                                          T0)], "intake:api")  # fmt: skip
    event = await store.find_event("alertmanager|x|Sent")
    assert event is not None
    w = writer(store, clock)
    await w.enqueue(T0)
    await store.act([event.id], Action.SHELVE, "alice", T0 + 1, until=T0 + 60)
    assert await w.enqueue(T0 + 2) == 0
    assert (SILENCE_ERROR, "no Alertmanager silence: the event has no alert labels to match") in (
        await actions(store, event.id)
    )


def test_check_config_names_where_silences_go_without_credentials(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[alertmanager]\nurl = "https://ops:pa55word@am.example.com:9443/am/"\n'
        f'token = "{AM_SECRET}"\n'
    )
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert (
        "silences: written back to Alertmanager at https://am.example.com:9443/am (with a token)"
        in result.stdout
    )
    for secret in (AM_SECRET, "pa55word"):
        assert secret not in result.stdout + result.stderr


async def test_a_hung_alertmanager_never_holds_up_the_shelve(store: Store) -> None:
    """The shelve is the store's at once; the writer's request times out on its own
    and says so on the event."""
    from bridge.runtime.delivery import OutboxSender

    with serve() as hung:
        hung.route("/api/v2/silences", Behaviour(hang=True))  # takes it, never answers
        config = parse_config(
            f'[alertmanager]\nurl = "{hung.url("")}"\ntimeout = 0.5\nbackoff = 60\n', "t.toml"
        )
        clock = SystemClock()
        disk = await raised(store, DISK)
        task = asyncio.create_task(OutboxSender(store, config, clock).run())
        try:
            now = clock.now()
            began = asyncio.get_running_loop().time()
            [result] = await store.act([disk], Action.SHELVE, "alice", now, until=now + 600)
            assert result.ok and asyncio.get_running_loop().time() - began < 0.5

            async def shown() -> bool:
                return any(a == SILENCE_ERROR for a, _ in await actions(store, disk))

            await wait_until(shown, 15, interval=0.1, what="the timeout on the event")
            (note,) = [n for a, n in await actions(store, disk) if a == SILENCE_ERROR]
            assert note == ("Alertmanager silence not created: timed out after 0.5 s; "
                            "retrying in 60 s")  # fmt: skip
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            hung.release.set()
