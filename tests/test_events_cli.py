"""`bridge events ...` as scripts use it: real subprocesses, an isolated XDG home, and
exit codes 0 (done), 1 (refused by the event's state), 2 (bad input, nothing changed)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from conftest import Isolated, one_error_line, run_bridge

from bridge.core.actions import Action
from bridge.core.models import Event, EventInput, EventState, JournalEntry, Severity
from bridge.store import open_store

T0 = time.time() - 60


@pytest.fixture
def cli(isolated: Isolated) -> Cli:
    return Cli(isolated)


class Cli:
    """The CLI on one store; BRIDGE_OPERATOR is 'tester' (see conftest.isolated)."""

    def __init__(self, isolated: Isolated) -> None:
        self.isolated = isolated
        self.db = isolated.root / "events.db"
        self.config = isolated.write_config(f'[store]\npath = "{self.db}"\n')

    def __call__(self, *args: str, operator: str | None = None) -> subprocess.CompletedProcess[str]:
        head = ["--config", str(self.config)]
        if operator is not None:
            head += ["--operator", operator]
        return run_bridge(self.isolated, *head, "events", *args)

    def raise_(self, *extra: str, severity: str = "critical", check: str = "replication") -> int:
        result = self(
            "raise", "--severity", severity, "--resource", "db1", "--check", check,
            "--summary", "lag 300 s", *extra,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        found = re.fullmatch(r"event (\d+) open \(\w+, count \d+\)\n", result.stdout)
        assert found, result.stdout
        return int(found.group(1))

    def seed(self, *events: tuple[Severity, str], ack: dict[int, str] | None = None) -> list[int]:
        """Raise (severity, check) events on db1 straight into the store; return their ids."""

        async def write() -> list[int]:
            store = await open_store(self.db)
            try:
                await store.upsert_events(
                    [EventInput("script", "db1", c, sev, "lag 300 s", T0) for sev, c in events],
                    "tester",
                )
                ids = []
                for _, check in events:
                    found = await store.find_event(f"script|db1|{check}")
                    assert found is not None
                    ids.append(found.id)
                for index, actor in (ack or {}).items():
                    await store.act([ids[index]], Action.ACK, actor, T0 + 1)
                return ids
            finally:
                await store.close()

        return asyncio.run(write())

    def parallel(self, *commands: list[str]) -> list[subprocess.CompletedProcess[str]]:
        """Independent commands at once (each is a fresh process; they only read or fail)."""
        with ThreadPoolExecutor(max_workers=4) as pool:
            return list(pool.map(lambda argv: self(*argv), commands))

    def state(self) -> tuple[list[Event], list[JournalEntry], int]:
        """Everything a command could change, read straight from the store."""

        async def read() -> tuple[list[Event], list[JournalEntry], int]:
            store = await open_store(self.db)
            try:
                return (
                    await store.list_events(include_resolved=True),
                    await store.journal(),
                    await store.last_seq(),
                )
            finally:
                await store.close()

        return asyncio.run(read())

    def show(self, event_id: int) -> dict[str, Any]:
        result = self("show", str(event_id), "--json")
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout)
        return out


# -- raise ---------------------------------------------------------------------------------------
def test_raise_repeat_and_clear(cli: Cli) -> None:
    first = cli.raise_("--detail", "primary db1, replica db2")
    assert cli.raise_(severity="major") == first  # the same dedup key: the same event
    repeat = cli(
        "raise", "--severity", "major", "--resource", "db1", "--check", "replication",
        "--summary", "lag 400 s",
    )  # fmt: skip
    assert repeat.stdout.strip() == f"event {first} open (major, count 3)"

    cleared = cli(
        "raise", "--severity", "ok", "--resource", "db1", "--check", "replication",
        "--summary", "caught up",
    )  # fmt: skip
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.strip() == f"event {first} resolved"

    shown = cli.show(first)
    assert shown["state"] == "resolved" and shown["count"] == 3
    assert shown["severity"] == "major" and shown["summary"] == "lag 400 s"
    assert shown["source"] == "script" and shown["detail"] == "primary db1, replica db2"
    assert [(j["action"], j["actor"]) for j in shown["journal"]] == [
        ("resolve", "tester"),
        ("severity", "tester"),
        ("raise", "tester"),
    ]

    nothing = cli(
        "raise", "--severity", "ok", "--resource", "nowhere", "--check", "x", "--summary", "fine"
    )  # fmt: skip
    assert nothing.returncode == 0
    assert "nothing to clear" in nothing.stdout
    events, _, _ = cli.state()
    assert [e.id for e in events] == [first]


RAISE_ERRORS = [
    (["--severity", "fatal"], ["unknown severity 'fatal'", "critical"]),
    (["--summary", "   "], ["--summary is empty"]),
    (["--resource", "r" * 201], ["--resource", "at most 200"]),
]


def test_raise_bad_input(cli: Cli) -> None:
    commands = []
    for args, _ in RAISE_ERRORS:
        base = {"--severity": "critical", "--resource": "db1", "--check": "c", "--summary": "s"}
        base.update(zip(args[::2], args[1::2], strict=True))
        commands.append(["raise", *(item for pair in base.items() for item in pair)])
    for result, (_, parts) in zip(cli.parallel(*commands), RAISE_ERRORS, strict=True):
        one_error_line(result, "events raise", *parts)
    assert not cli.db.exists() or cli.state()[0] == []


# -- act -----------------------------------------------------------------------------------------
def test_ack_then_second_ack_is_refused(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.CRITICAL, "replication"))
    acked = cli("ack", str(event_id), "--note", "looking at it")
    assert acked.returncode == 0, acked.stderr
    assert acked.stdout.strip() == f"ack: event {event_id}"

    again = cli("ack", str(event_id), "--note", "me too", operator="bob")
    assert again.returncode == 1
    assert "Traceback" not in again.stderr
    assert f"event {event_id} is already acknowledged by tester" in again.stderr

    (event,), journal, _ = cli.state()
    assert event.state is EventState.ACKNOWLEDGED and event.acked_by == "tester"
    acks = [j for j in journal if j.action == "ack"]
    assert [(j.actor, j.note) for j in acks] == [("tester", "looking at it")]


def test_actor_is_operator_flag_then_env(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.CRITICAL, "replication"))
    assert cli("own", str(event_id), operator="bob").returncode == 0
    env = {**cli.isolated.env, "BRIDGE_OPERATOR": "carol"}
    noted = run_bridge(
        cli.isolated, "--config", str(cli.config), "events", "note", str(event_id),
        "--note", "paged the DBA", env=env,
    )  # fmt: skip
    assert noted.returncode == 0, noted.stderr
    unshelved = cli("unshelve", str(event_id), operator="dave")
    assert unshelved.returncode == 1
    assert unshelved.stderr.strip() == f"bridge: event {event_id} is open, not shelved"

    shown = cli.show(event_id)
    assert shown["owner"] == "bob"
    assert [(j["action"], j["actor"], j["note"]) for j in shown["journal"]] == [
        ("note", "carol", "paged the DBA"),
        ("own", "bob", ""),
        ("raise", "tester", "lag 300 s"),
    ]


ACT_ERRORS = [
    (["ack", "999"], ["no event 999", "nothing changed"]),
    (["ack", "{id}", "999"], ["no event 999", "nothing changed"]),  # none of them done
    (["note", "{id}"], ["events note", "the note is empty"]),
    (["note", "{id}", "--note", "  "], ["the note is empty"]),
    (["ack", "{id}", "--note", "x" * 2001], ["events ack", "2001 characters; at most 2000"]),
    (["note", "{id}", "--note", "x" * 2001], ["at most 2000"]),
]


# -- shelve, assign, disown, resolve, and reasons ---------------------------------------------------
def test_shelve_assign_disown_resolve_with_notes(cli: Cli) -> None:
    trap, other = cli.seed((Severity.MAJOR, "trap"), (Severity.MINOR, "queue"))
    before = time.time()
    shelved = cli("shelve", str(other), "--for", "30m", "--note", "vendor ticket 42")
    assert shelved.returncode == 0, shelved.stderr
    assert shelved.stdout.strip() == f"shelve: event {other}"
    shown = cli.show(other)
    assert shown["state"] == "shelved"
    assert before + 1800 <= shown["shelved_until"] <= time.time() + 1800
    assert shown["journal"][0]["note"].endswith(": vendor ticket 42")

    for argv in (
        ["assign", str(trap), "--to", "bob", "--note", "DBA on call"],
        ["escalate", str(trap), "--note", "customers see it"],
        ["own", str(trap), "--note", "mine now"],
        ["disown", str(trap), "--note", "off shift"],
        ["resolve", str(trap), "--note", "port re-seated"],
    ):
        result = cli(*argv, operator="carol")
        assert result.returncode == 0, (argv, result.stderr)
    shown = cli.show(trap)
    assert shown["state"] == "resolved" and shown["owner"] is None
    assert [(j["action"], j["actor"], j["note"]) for j in shown["journal"][:5]] == [
        ("resolve", "carol", "port re-seated"),
        ("disown", "carol", "from carol: off shift"),
        ("own", "carol", "from bob: mine now"),
        ("escalate", "carol", "major -> critical: customers see it"),
        ("assign", "carol", "to bob: DBA on call"),
    ]
    again = cli("disown", str(trap))
    assert again.returncode == 1 and f"event {trap} has no owner" in again.stderr


def test_maintenance_window_for_an_events_host(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.MAJOR, "replication"))
    opened = cli("maintenance", str(event_id), "--for", "2h", "--note", "failover test")
    assert opened.returncode == 0, opened.stderr
    assert re.fullmatch(r"maintenance window for db1 until .* UTC\n", opened.stdout)
    shown = cli.show(event_id)
    assert shown["journal"][0]["action"] == "maintenance"
    assert shown["journal"][0]["note"].endswith(": failover test")
    (event,), _, _ = cli.state()
    assert event.suppressed


VERB_ERRORS = [
    (["shelve", "{id}"], ["events shelve", "--for"]),
    (["shelve", "{id}", "--for", "soon"], ["events shelve: --for", "'soon' is not a duration"]),
    (["shelve", "{id}", "--for", "0m"], ["more than zero"]),
    (["assign", "{id}"], ["events assign", "--to"]),
    (["assign", "{id}", "--to", "  "], ["events assign", "the name is empty"]),
    (["resolve", "{id}"], ["events resolve", "the note is empty"]),
    (["disown", "999"], ["no event 999", "nothing changed"]),
    (["resolve", "x", "--note", "n"], ["events resolve", "invalid int value: 'x'"]),
    (["maintenance", "{id}", "--note", "x"], ["events maintenance", "--for"]),
    (["maintenance", "{id}", "--for", "2h", "--note", " "], ["the note is empty", "nothing"]),
    (["maintenance", "999", "--for", "2h", "--note", "x"], ["no event 999", "nothing changed"]),
    (["maintenance", "{id}", "--for", "x", "--note", "x"], ["--for", "not a duration"]),
]


def test_new_verbs_bad_input_changes_nothing(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.CRITICAL, "replication"))
    before = cli.state()
    commands = [[a.replace("{id}", str(event_id)) for a in args] for args, _ in VERB_ERRORS]
    for result, (_, parts) in zip(cli.parallel(*commands), VERB_ERRORS, strict=True):
        one_error_line(result, *parts)
    assert cli.state() == before


def test_bad_input_changes_nothing(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.CRITICAL, "replication"))
    before = cli.state()
    commands = [[a.replace("{id}", str(event_id)) for a in args] for args, _ in ACT_ERRORS]
    for result, (_, parts) in zip(cli.parallel(*commands), ACT_ERRORS, strict=True):
        one_error_line(result, *parts)
    assert cli.state() == before


def test_show_unknown_and_bad_filter(cli: Cli) -> None:
    cli.seed((Severity.CRITICAL, "replication"))
    show, bad, worse = cli.parallel(
        ["show", "999", "--json"], ["list", "--filter", "bogus:x"], ["--filter", "sev:fatal"]
    )
    one_error_line(show, "no event 999")
    one_error_line(bad, "--filter", "bogus:x", "unknown field")
    one_error_line(worse, "unknown severity 'fatal'")


# -- list ----------------------------------------------------------------------------------------
def test_list_json_with_filter(cli: Cli) -> None:
    crit, _, _, acked = cli.seed(
        (Severity.CRITICAL, "replication"),
        (Severity.WARNING, "backup"),
        (Severity.MAJOR, "vacuum"),
        (Severity.CRITICAL, "disk"),
        ack={3: "bob"},
    )
    result, major_up, everything, before = cli.parallel(
        ["list", "--json", "--filter", "sev:critical"],
        ["list", "--json", "--filter", "sev:major+ state:open"],
        ["--json"],  # `events` alone lists
        ["--filter", "sev:critical", "--json", "list"],  # options before `list` still count
    )
    assert json.loads(before.stdout) == json.loads(result.stdout)
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    # Console order: open before acknowledged.
    assert [(r["id"], r["state"]) for r in rows] == [(crit, "open"), (acked, "acknowledged")]
    assert all(r["severity"] == "critical" for r in rows)
    assert rows[1]["acked_by"] == "bob"
    assert {r["check"] for r in json.loads(major_up.stdout)} == {"replication", "vacuum"}
    every = json.loads(everything.stdout)
    assert len(every) == 4
    assert {r["state"] for r in every} == {EventState.OPEN.value, "acknowledged"}
    assert Severity.parse(every[0]["severity"]) is Severity.CRITICAL


def test_show_json_has_journal_with_actors(cli: Cli) -> None:
    (event_id,) = cli.seed((Severity.CRITICAL, "replication"))
    assert cli("ack", str(event_id), "--note", "mine", operator="bob").returncode == 0
    shown = cli.show(event_id)
    assert shown["id"] == event_id and shown["evidence"] is None
    assert [(j["action"], j["actor"], j["note"]) for j in shown["journal"]] == [
        ("ack", "bob", "mine"),
        ("raise", "tester", "lag 300 s"),
    ]
    assert all(isinstance(j["at"], float) for j in shown["journal"])
    text = cli("show", str(event_id))
    assert text.returncode == 0
    assert "journal:" in text.stdout and "bob" in text.stdout


def test_output_cut_short_by_the_reader_is_not_a_traceback(cli: Cli) -> None:
    """`bridge events list --json | head`: the reader leaves early; no traceback."""
    cli.raise_()
    import os
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before bridge writes
    try:
        result = subprocess.run(
            [sys.executable, "-m", "bridge", "--config", str(cli.config), "events", "--json"],
            env=cli.isolated.env, stdout=write_end, stderr=subprocess.PIPE, text=True,
            timeout=30, check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr, result.stderr
    assert result.returncode == 141


def test_show_text_includes_the_evidence(cli: Cli) -> None:
    """As the console's details do: the values and top processes frozen at raise,
    untrusted names shown literally."""
    evidence = {
        "at": T0 - 5,
        "metrics": {"cpu": 99.0, "memory": 61.0},
        "top_cpu": [{"pid": 4242, "name": "postgres\x1b[2J", "cpu": 91.0, "rss": 900 * 2**20}],
        "top_memory": [{"pid": 777, "name": "java", "cpu": 1.0, "rss": 2 * 2**30}],
        "probe": {"url": "https://shop.example/health"},
    }

    async def write() -> int:
        store = await open_store(cli.db)
        try:
            await store.upsert_events(
                [EventInput("local", "web1", "cpu", Severity.CRITICAL, "cpu 99.0%", T0,
                            value=99.0, evidence=evidence)],
                "bridge",
            )  # fmt: skip
            event = await store.find_event("local|web1|cpu")
            assert event is not None
            return event.id
        finally:
            await store.close()

    event_id = asyncio.run(write())
    result = cli("show", str(event_id))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "evidence:      at raise, " in out
    assert "values       cpu 99.0  memory 61.0" in out
    assert "top by CPU" in out and "4242  91.0%  900.0M  postgres\\x1b[2J" in out
    assert "top by memory" in out and "777   1.0%    2.0G  java" in out
    assert 'probe        {"url": "https://shop.example/health"}' in out
    assert "\x1b" not in out
    assert out.index("evidence:") < out.index("journal:")
    plain = cli("show", str(cli.raise_()))
    assert "evidence:      none" in plain.stdout
