"""Service reports: figures from a seeded store match a hand computation."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest
from conftest import Isolated, one_error_line, run_bridge, seeded_config

from bridge.config.file import Config, ConfigError, parse_config
from bridge.core.actions import Action
from bridge.core.models import CollectorHealth, EventInput, ScheduleAction, Severity
from bridge.reports.levels import (
    Period,
    PeriodError,
    build_report,
    parse_period,
    render_markdown,
    report_heading,
    report_json,
    report_tables,
    text_chart,
)
from bridge.store import Store, open_store

MONDAY = dt.datetime(2026, 11, 16, tzinfo=dt.UTC).timestamp()  # 2026-11-16 is a Monday
H = 3600.0
M = 60.0

CONFIG = """
[store]
path = "{db}"

[reports]
calendar = "business"

[calendars.business]
timezone = "UTC"
start = "09:00"
end = "17:00"

[[devices]]
name = "sw1"
address = "127.0.0.1"

[[devices]]
name = "sw2"
address = "127.0.0.1"

[[jobs]]
name = "backup"
schedule = "0 10 * * *"
grace = 300

[[jobs]]
name = "batch"
schedule = "0 14 * * *"
grace = 600

[[jobs]]
name = "xfer"
schedule = "0 11,15 * * *"
grace = 300

[[jobs]]
name = "night"
schedule = "0 3 * * *"
"""


def at(hours: float) -> float:
    return MONDAY + hours * H


def ev(source: str, resource: str, check: str, sev: Severity, when: float) -> EventInput:
    return EventInput(source, resource, check, sev, f"{check} {sev.label}", when)


async def seed(store: Store) -> None:
    """The day the figures below are computed from, by hand."""
    # E1: sw1 unreachable 08:00 (before hours), acked 09:10 by alice, answers 10:00.
    await store.upsert_events([ev("snmp", "sw1", "reachability", Severity.MAJOR, at(8))], "bridge")
    e1 = await store.find_event("snmp|sw1|reachability")
    assert e1 is not None
    await store.act([e1.id], Action.ACK, "alice", at(9) + 10 * M)
    await store.upsert_events([ev("snmp", "sw1", "reachability", Severity.OK, at(10))], "bridge")
    # E2: critical cpu 12:00, acked 12:20 by bob, resolved 13:00.
    await store.upsert_events([ev("local", "host", "cpu", Severity.CRITICAL, at(12))], "bridge")
    e2 = await store.find_event("local|host|cpu")
    assert e2 is not None
    await store.act([e2.id], Action.ACK, "bob", at(12) + 20 * M)
    await store.upsert_events([ev("local", "host", "cpu", Severity.OK, at(13))], "bridge")
    # E3: warning disk 16:30, acked 17:30 by alice, resolved 18:00, re-opened 20:00.
    await store.upsert_events([ev("local", "host", "disk:/", Severity.WARNING, at(16.5))], "b")
    e3 = await store.find_event("local|host|disk:/")
    assert e3 is not None
    await store.act([e3.id], Action.ACK, "alice", at(17.5))
    await store.upsert_events([ev("local", "host", "disk:/", Severity.OK, at(18))], "b")
    await store.upsert_events([ev("local", "host", "disk:/", Severity.WARNING, at(20))], "b")
    # Before the period: neither an incident nor an ack of this period.
    await store.upsert_events([ev("local", "old", "cpu", Severity.MAJOR, at(-5))], "b")
    # Jobs: backup on time; batch late; xfer 11:00 missed, 15:00 moved to 16:00 and run.
    run = await store.job_start("backup", "cron", at(10) + 2 * M)
    await store.job_finish("backup", "cron", at(10.5), ok=True, run_id=run.run_id)
    await store.job_start("batch", "cron", at(14.5))
    await store.change_schedule(
        "xfer", ScheduleAction.RESCHEDULE, at(15), "carol", "vendor window", at(14),
        new_time=at(16),
    )  # fmt: skip
    await store.job_start("xfer", "cron", at(16) + 1 * M)
    await store.job_start("night", "cron", at(3))
    # sw2 has been polled since before the period, and never failed.
    await store.record_health(CollectorHealth("snmp:sw2", 60.0, last_run=at(-30), runs=1))


def config_for(db: Path) -> Config:
    return parse_config(CONFIG.format(db=db), "test.toml")


async def test_figures_match_a_hand_computation(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    store = await open_store(db)
    try:
        await seed(store)
        report = await build_report(
            store, config_for(db), Period(MONDAY, MONDAY + 24 * H), now=MONDAY + 25 * H
        )
    finally:
        await store.close()
    assert report.calendar == "business"
    assert report.open_s == 8 * H
    sev = {s.key: s for s in report.by_severity}
    assert list(sev) == ["critical", "major", "warning"]  # worst first
    # critical: cpu acked after 20 min, resolved after 60 min.
    assert (sev["critical"].incidents, sev["critical"].mtta, sev["critical"].mttr) == (
        1, 20 * M, 60 * M,
    )  # fmt: skip
    # major: raised 08:00 outside hours: only 09:00-09:10 and 09:00-10:00 count.
    assert (sev["major"].mtta, sev["major"].mttr) == (10 * M, 60 * M)
    # warning: two incidents (the re-open), one acked after 30 min of hours, one resolved.
    w = sev["warning"]
    assert (w.incidents, w.acknowledged, w.resolved, w.mtta, w.mttr) == (2, 1, 1, 30 * M, 30 * M)
    src = {s.key: s for s in report.by_source}
    assert src["local"].incidents == 3 and src["local"].mtta == (20 * M + 30 * M) / 2
    assert src["snmp"].incidents == 1
    assert report.events_by_source == [("local", 3), ("snmp", 1)]
    assert report.noisiest[0] == ("local", "host", 3)
    assert report.acks_by_operator == [("alice", 2), ("bob", 1)]
    jobs = {j.job: j for j in report.jobs}
    assert (jobs["backup"].due, jobs["backup"].on_time) == (1, 1)
    assert (jobs["batch"].due, jobs["batch"].late) == (1, 1)
    assert (jobs["xfer"].due, jobs["xfer"].on_time, jobs["xfer"].missed) == (2, 1, 1)
    assert jobs["night"].due == 0  # 03:00 is outside operational hours
    assert report.on_time_rate == 0.5
    assert [(c.job, c.reason) for c in report.reschedules] == [("xfer", "vendor window")]
    avail = {a.resource: a for a in report.availability}
    assert avail["sw1"].down_s == 1 * H and avail["sw1"].percent == 87.5
    assert avail["sw2"].percent == 100.0  # configured, never down
    assert (avail["sw2"].since, avail["sw1"].since) == (None, at(8))  # sw1: its first event
    assert sum(report.per_bucket) == 4 and len(report.per_bucket) == 24
    assert report.per_bucket[8] == 1 and report.per_bucket[16] == 1


async def test_markdown_and_text_tables(tmp_path: Path) -> None:
    db = tmp_path / "bridge.db"
    store = await open_store(db)
    try:
        await seed(store)
        await store.upsert_events(
            [ev("http", "a|b", "x", Severity.INFO, at(11))], "b"
        )  # a pipe must not break a Markdown table
        report = await build_report(store, config_for(db), Period(MONDAY, at(24)), at(25))
    finally:
        await store.close()
    text = render_markdown(["t"], report_tables(report))
    assert "| http | a\\|b | 1 |" in text
    assert text_chart([0, 1, 8]) == " ▁█"  # zero blank, any event visible


def test_period_parsing() -> None:
    now = MONDAY
    assert parse_period("24h", None, None, now) == Period(now - 24 * H, now)
    assert parse_period(None, "2026-11-15T12:00", "2026-11-16", now) == Period(now - 12 * H, now)
    with pytest.raises(PeriodError, match="reversed"):
        parse_period(None, "2026-11-17", "2026-11-16", now)
    with pytest.raises(PeriodError, match="empty"):
        parse_period(None, "2026-11-16", "2026-11-16T00:00Z", now)
    with pytest.raises(PeriodError, match="--from 'noon'"):
        parse_period(None, "noon", None, now)
    with pytest.raises(PeriodError, match="--since"):
        parse_period("soon", None, None, now)


@pytest.fixture
def seeded(isolated: Isolated) -> Path:
    return seeded_config(isolated, seed, CONFIG)


def test_cli_report_formats(isolated: Isolated, seeded: Path) -> None:
    period = ("--from", "2026-11-16T00:00", "--to", "2026-11-17T00:00")
    text = run_bridge(isolated, "--config", str(seeded), "report", *period)
    assert text.returncode == 0, text.stderr
    assert "Response by severity" in text.stdout and "87.5%" in text.stdout
    assert "vendor window" in text.stdout
    data = json.loads(
        run_bridge(isolated, "--config", str(seeded), "report", *period, "--json").stdout
    )
    assert data["by_severity"]["critical"]["mtta_s"] == 20 * M
    assert data["on_time_rate"] == 0.5
    md = run_bridge(isolated, "--config", str(seeded), "report", *period, "--markdown")
    assert md.stdout.startswith("# Service report") and "## Jobs on time" in md.stdout


def test_cli_report_bad_periods(isolated: Isolated, seeded: Path) -> None:
    base = ("--config", str(seeded), "report")
    one_error_line(
        run_bridge(isolated, *base, "--from", "2026-11-17", "--to", "2026-11-16"), "reversed"
    )
    one_error_line(
        run_bridge(isolated, *base, "--from", "2026-11-16", "--to", "2026-11-16"), "empty"
    )
    one_error_line(run_bridge(isolated, *base, "--since", "yesterday"), "--since")
    one_error_line(run_bridge(isolated, *base), "--since 24h")


def test_unknown_report_calendar_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"reports\.calendar: unknown calendar 'nope'"):
        parse_config('[reports]\ncalendar = "nope"\n', "t.toml")


async def test_jobs_count_only_from_when_the_engine_first_judged_them(tmp_path: Path) -> None:
    from bridge.core.models import JobStatusRecord

    db = tmp_path / "bridge.db"
    store = await open_store(db)
    try:
        await seed(store)
        # xfer was added to the config at noon: its 11:00 occurrence was never expected.
        record = JobStatusRecord("xfer", "succeeded", False, at(12), first_at=at(12))
        await store.write_job_statuses([record], at(12))
        report = await build_report(store, config_for(db), Period(MONDAY, at(24)), at(25))
    finally:
        await store.close()
    xfer = next(j for j in report.jobs if j.job == "xfer")
    assert (xfer.due, xfer.on_time, xfer.missed) == (1, 1, 0)


def test_every_minute_job_missed_occurrences_are_missed() -> None:
    """A run belongs to one occurrence: for a job due every minute, the run a few
    seconds after 10:00 does not also make 10:01 (which never ran) on time."""
    from bridge.config.schedule import JobConfig
    from bridge.core.hours import ALWAYS
    from bridge.core.models import JobRun, JobRunStatus
    from bridge.reports.levels import Period, job_stats

    cfg = JobConfig.model_validate({"name": "tick", "schedule": "* * * * *", "grace": 30})
    t0 = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC).timestamp()
    runs = [  # 10:00 .. 10:04 ran 4 s after due; 10:05 .. 10:09 never ran
        JobRun(m + 1, "tick", f"r{m}", t0 + 60 * m + 4, t0 + 60 * m + 8, JobRunStatus.OK, 0,
               duration=4.0)
        for m in range(5)
    ]  # fmt: skip
    stats = job_stats(cfg, runs, [], Period(t0, t0 + 600), t0 + 700, ALWAYS)
    assert (stats.due, stats.on_time, stats.late, stats.missed) == (10, 5, 0, 5)


async def test_availability_counts_only_from_the_first_poll(tmp_path: Path) -> None:
    """sw3 was added at 11:00 (its first poll) and was down 13:00-14:00; the
    business day is 09:00-17:00. Monitored: 11:00-17:00 = 6 h, down 1 h, so
    available 5/6 = 83.3%, not 7/8 = 87.5% as if it had been watched since 09:00.
    sw4 was configured but never polled: no figure at all, not 100%."""
    db = tmp_path / "bridge.db"
    text = CONFIG + '\n[[devices]]\nname = "sw3"\naddress = "127.0.0.1"\n'
    text += '\n[[devices]]\nname = "sw4"\naddress = "127.0.0.1"\n'
    config = parse_config(text.format(db=db), "test.toml")
    store = await open_store(db)
    try:
        first = CollectorHealth("snmp:sw3", 60.0, last_run=at(11), last_success=at(11), runs=1)
        await store.record_health(first)
        later = CollectorHealth("snmp:sw3", 60.0, last_run=at(12), last_success=at(12), runs=2)
        await store.record_health(later)  # the first run is kept, the rest replaced
        assert (await store.first_runs())["snmp:sw3"] == at(11)
        await store.upsert_events([ev("snmp", "sw3", "reachability", Severity.MAJOR, at(13))], "b")
        await store.upsert_events([ev("snmp", "sw3", "reachability", Severity.OK, at(14))], "b")
        report = await build_report(store, config, Period(MONDAY, MONDAY + 24 * H), at(25))
    finally:
        await store.close()
    avail = {a.resource: a for a in report.availability}
    sw3 = avail["sw3"]
    assert sw3.down_s == 1 * H and sw3.since == at(11)
    assert sw3.percent == pytest.approx(100 * 5 / 6)
    assert (avail["sw4"].percent, avail["sw4"].polled) == (None, False)
    rows = {r[1]: r for r in report_tables(report)[-1].rows}
    assert rows["sw3"][3:] == ("83.3%", "monitored since 11:00 UTC")
    assert rows["sw4"][3:] == ("—", "never polled")
    assert report_json(report)["availability"][2]["monitored_since"] == at(11)


async def test_collectors_known_before_first_runs_were_kept_count_all_along(
    tmp_path: Path,
) -> None:
    """A store from before the first run was recorded: its collectors are taken
    as monitored all along (the old figures), not as first polled at the upgrade."""
    import sqlite3

    from bridge.store.sqlite.schema import MIGRATIONS

    db = tmp_path / "bridge.db"
    store = await open_store(db)
    await store.close()
    first_run = _first_run_migration(MIGRATIONS)
    # Later migrations' added columns go too, so that they apply again cleanly.
    later = "".join(
        f"ALTER TABLE {table} DROP COLUMN {column};"
        for m in MIGRATIONS[first_run:]
        for table, column in re.findall(r"ALTER TABLE (\w+) ADD COLUMN (\w+)", m)
    )
    conn = sqlite3.connect(db)
    try:  # back to the schema before the migration that added first_run
        conn.executescript(
            later + "ALTER TABLE collector_health DROP COLUMN first_run;"
            f"DELETE FROM schema_version WHERE version >= {first_run};"
            "INSERT INTO collector_health(name, interval, last_run) VALUES ('snmp:sw1', 60, 5);"
        )
        conn.commit()
    finally:
        conn.close()
    store = await open_store(db)
    try:
        await store.record_health(CollectorHealth("snmp:sw1", 60.0, last_run=at(12), runs=1))
        assert await store.first_runs() == {"snmp:sw1": 0.0}
    finally:
        await store.close()


def _first_run_migration(migrations: list[str]) -> int:
    """The version number of the migration adding first_run (the lead may renumber)."""
    return next(i for i, m in enumerate(migrations, 1) if "first_run" in m)


async def test_a_period_with_more_journal_than_one_report_reads_is_cut_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 200 000 entries are too many to seed here: the limit is lowered instead.
    monkeypatch.setattr("bridge.reports.levels.JOURNAL_LIMIT", 4)
    store = await open_store(tmp_path / "bridge.db")
    try:
        for i in range(6):  # one raise each, an hour apart
            at = MONDAY + i * H
            await store.upsert_events(
                [EventInput("local", f"h{i}", "cpu", Severity.WARNING, "hot", at)], actor="t"
            )
        report = await build_report(
            store, Config(), Period(MONDAY, MONDAY + 24 * H), now=MONDAY + 25 * H
        )
    finally:
        await store.close()
    # Read: the first four entries. The last instant read may be partial, so the
    # report ends there: three incidents, over three hours, never "six in a day".
    assert report.cut and report.period.end == MONDAY + 3 * H
    assert sum(n for _, n in report.events_by_source) == 3
    assert report_json(report)["cut_short"] is True
    assert "Cut short" in "\n".join(report_heading(report))
