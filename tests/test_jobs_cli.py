"""`bridge job ...` as jobs use it: real subprocesses on an isolated store."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import Isolated, one_error_line, run_bridge

from bridge.cli.jobs import OutputTail
from bridge.core.models import Event, JobRun, JobRunStatus, JobSignalError, ScheduleAction
from bridge.store import Store, open_store

CONFIG = """
[store]
path = "{db}"

[[jobs]]
name = "backup"
schedule = "0 2 * * *"

[[jobs]]
name = "etl"
schedule = "*/15 * * * *"
"""


class Cli:
    def __init__(self, isolated: Isolated) -> None:
        self.isolated = isolated
        self.db = isolated.root / "jobs.db"
        self.config = isolated.write_config(CONFIG.format(db=self.db))

    def __call__(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_bridge(self.isolated, "--config", str(self.config), "job", *args)

    def read(self) -> tuple[list[JobRun], list[Event]]:
        async def go() -> tuple[list[JobRun], list[Event]]:
            store = await open_store(self.db)
            try:
                return await store.job_runs(), await store.list_events(include_resolved=True)
            finally:
                await store.close()

        return asyncio.run(go())


@pytest.fixture
def cli(isolated: Isolated) -> Cli:
    return Cli(isolated)


def test_start_then_ok_pairs_by_run_id(cli: Cli) -> None:
    started = cli("start", "backup")
    assert started.returncode == 0, started.stderr
    run_id = started.stdout.strip()
    assert run_id and "\n" not in run_id
    ended = cli("ok", "backup", "--run-id", run_id, "--message", "3 GB")
    assert ended.returncode == 0, ended.stderr
    assert f"job backup run {run_id} ok" in ended.stdout
    again = cli("ok", "backup", "--run-id", run_id)
    one_error_line(again, "already ended", "nothing recorded")
    runs, _ = cli.read()
    assert len(runs) == 1
    run = runs[0]
    assert (run.run_id, run.status, run.message, run.actor) == (
        run_id, JobRunStatus.OK, "3 GB", "tester",
    )  # fmt: skip
    assert run.duration is not None and run.duration >= 0


def test_fail_without_run_id_ends_the_latest_running(cli: Cli) -> None:
    assert cli("start", "etl").returncode == 0
    failed = cli("fail", "etl", "--exit-code", "4", "--message", "disk full")
    assert failed.returncode == 0, failed.stderr
    bare = cli("fail", "etl", "--exit-code", "5")  # no start: a run of its own
    assert bare.returncode == 0, bare.stderr
    runs, _ = cli.read()
    assert [(r.status, r.exit_code, r.message) for r in runs] == [
        (JobRunStatus.FAILED, 5, ""),
        (JobRunStatus.FAILED, 4, "disk full"),
    ]
    assert runs[0].started_at is None and runs[1].started_at is not None


def test_unknown_job_is_refused_and_recorded_as_an_event(cli: Cli) -> None:
    result = cli("start", "bakcup")
    one_error_line(result, "unknown job 'bakcup'", str(cli.config))
    assert result.stdout == ""
    runs, events = cli.read()
    assert runs == []
    assert [(e.source, e.resource, e.check, e.severity.label) for e in events] == [
        ("jobs", "bakcup", "unknown-job", "warning")
    ]
    one_error_line(cli("run", "nope", "--", sys.executable, "-c", "pass"), "unknown job 'nope'")


def test_unknown_run_id_is_refused(cli: Cli) -> None:
    one_error_line(cli("ok", "backup", "--run-id", "feedface"), "no run 'feedface'")
    run_id = cli("start", "etl").stdout.strip()
    one_error_line(cli("ok", "backup", "--run-id", run_id), "belongs to job 'etl'")
    assert [r.status for r in cli.read()[0]] == [JobRunStatus.RUNNING]


SCRIPT = """
import sys
for i in range(80):
    print(f"line {i}")
print("oops on stderr", file=sys.stderr)
sys.exit(3)
"""


def test_run_wraps_a_real_command(cli: Cli) -> None:
    result = cli("run", "backup", "--", sys.executable, "-c", SCRIPT)
    assert result.returncode == 3, result.stderr
    assert result.stdout == "".join(f"line {i}\n" for i in range(80))  # passed through unchanged
    assert result.stderr == "oops on stderr\n"
    runs, _ = cli.read()
    assert len(runs) == 1
    run = runs[0]
    assert run.status is JobRunStatus.FAILED and run.exit_code == 3
    assert run.started_at is not None and run.ended_at is not None
    assert run.duration is not None and 0 <= run.duration <= run.ended_at - run.started_at + 1
    tail = run.output_tail.splitlines()
    assert len(tail) == 50
    assert tail[-1] == "oops on stderr"
    assert tail[:-1] == [f"line {i}" for i in range(31, 80)]


def test_run_ok_and_a_command_that_cannot_start(cli: Cli, tmp_path: Path) -> None:
    assert cli("run", "etl", "--", sys.executable, "-c", "print('fine')").returncode == 0
    missing = cli("run", "etl", "--", str(tmp_path / "no-such-program"))
    assert missing.returncode == 127
    assert "Traceback" not in missing.stderr
    assert missing.stderr.count("\n") == 1 and "cannot start" in missing.stderr
    runs, _ = cli.read()
    assert [(r.status, r.exit_code) for r in runs] == [
        (JobRunStatus.FAILED, 127),
        (JobRunStatus.OK, 0),
    ]
    assert "cannot start" in runs[0].message
    one_error_line(cli("run", "etl"), "no command given")


def test_output_tail_is_bounded() -> None:
    tail = OutputTail(lines=3)
    tail.feed("stdout", b"a\nb\nc\nd\npart")
    tail.feed("stdout", b"ial\n" + b"x" * 100_000)
    tail.feed("stderr", b"err\n")
    assert tail.text().splitlines()[:2] == ["partial", "err"]
    assert len(tail.text().splitlines()[-1]) == 1000


async def test_store_signals_and_schedule_changes(store: Store) -> None:
    now = time.time()
    seq = await store.last_seq()
    run = await store.job_start("backup", "ops", now)
    done = await store.job_finish("backup", "ops", now + 5, ok=True, output_tail="done")
    assert (done.run_id, done.duration, done.status) == (run.run_id, 5, JobRunStatus.OK)
    other = await store.job_start("etl", "ops", now + 6)
    latest = await store.latest_job_runs()
    assert latest["backup"].run_id == run.run_id and latest["etl"].run_id == other.run_id
    assert [r.run_id for r in await store.job_runs("backup")] == [run.run_id]
    assert await store.get_job_run(run.run_id) == done

    with pytest.raises(JobSignalError, match="in the past"):
        await store.change_schedule(
            "backup", ScheduleAction.RESCHEDULE, now, "ops", "disk swap", now, new_time=now - 1
        )
    with pytest.raises(JobSignalError, match="reason"):
        await store.change_schedule("backup", ScheduleAction.HOLD, now, "ops", " ", now)
    moved = await store.change_schedule(
        "backup", ScheduleAction.RESCHEDULE, now, "ops", "disk swap", now, new_time=now + 3600
    )
    await store.change_schedule("backup", ScheduleAction.HOLD, now + 86400, "ops", "freeze", now)
    changes = await store.schedule_changes("backup")
    assert changes[0] == moved
    assert [(c.action, c.actor, c.reason) for c in changes] == [
        (ScheduleAction.RESCHEDULE, "ops", "disk swap"),
        (ScheduleAction.HOLD, "ops", "freeze"),
    ]
    journal = await store.journal()
    assert journal[0].action == "job hold" and journal[0].note.endswith(": freeze")
    feed = await store.changes_since(seq)
    assert [c.kind for c in feed] == ["jobs"] * 5
    assert [c.ref for c in feed] == ["backup", "backup", "etl", "backup", "backup"]


def test_start_with_a_run_id_of_the_callers_own(cli: Cli) -> None:
    """As the README documents: `job start NAME --run-id ID`, then `job ok NAME --run-id ID`."""
    started = cli("start", "backup", "--run-id", "airflow-2026-11-18T02:00")
    assert started.returncode == 0, started.stderr
    assert started.stdout == "airflow-2026-11-18T02:00\n"
    ended = cli("ok", "backup", "--run-id", "airflow-2026-11-18T02:00")
    assert ended.returncode == 0, ended.stderr
    [run] = cli.read()[0]
    assert (run.run_id, run.status) == ("airflow-2026-11-18T02:00", JobRunStatus.OK)
    again = cli("start", "etl", "--run-id", "airflow-2026-11-18T02:00")
    one_error_line(again, "job start", "exists already (job 'backup')", "nothing recorded")
    one_error_line(cli("start", "backup", "--run-id", "two words"), "is not a run id")
    assert len(cli.read()[0]) == 1


@pytest.mark.parametrize("signal", ["run", "ok", "start"])
def test_an_unknown_jobs_error_says_it_raised_an_event(cli: Cli, signal: str) -> None:
    extra = ["--", sys.executable, "-c", "pass"] if signal == "run" else []
    result = cli(signal, "nope", *extra)
    assert result.returncode == 2
    one_error_line(result, f"job {signal}: unknown job 'nope'", "raised an unknown-job event")
    assert [e.check for e in cli.read()[1]] == ["unknown-job"]


def test_run_takes_bridges_options_between_the_name_and_the_command(cli: Cli) -> None:
    """`bridge job run NAME --operator X -- COMMAND`: the options are bridge's, not the command."""
    result = run_bridge(
        cli.isolated, "job", "run", "backup", "--config", str(cli.config),
        "--operator", "cron", "-v", "--", sys.executable, "-c", "print('done')",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    [run] = cli.read()[0]
    assert (run.status, run.actor) == (JobRunStatus.OK, "cron")
    bad = run_bridge(cli.isolated, "job", "run", "backup", "--bogus", "--", "true")
    one_error_line(bad, "job run: unrecognized arguments before '--': --bogus")
