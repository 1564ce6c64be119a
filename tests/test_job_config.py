"""Job config errors through the real CLI: one line each, exit 2, no traceback."""

from __future__ import annotations

from conftest import Isolated, config_errors, run_bridge

from bridge.config.file import ConfigError, parse_config


def jobs_toml(*jobs: tuple[str, str, str]) -> str:
    out = []
    for name, schedule, extra in jobs:
        out.append(f'[[jobs]]\nname = "{name}"\nschedule = "{schedule}"\n{extra}\n')
    return "\n".join(out)


def test_bad_cron_and_time_zone(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        jobs_toml(
            ("ok", "0 2 * * *", ""),
            ("nightly", "0 3 * * *", 'timezone = "Mars/Olympus_Mons"'),
            ("hourly", "61 * * * *", ""),
        ),
    )
    assert lines == [
        "jobs[1].timezone: unknown time zone 'Mars/Olympus_Mons'",
        "jobs[2].schedule: invalid cron expression '61 * * * *'",
    ]


def test_dependency_problems_each_one_line(isolated: Isolated) -> None:
    lines = config_errors(
        isolated,
        jobs_toml(
            ("a", "0 1 * * *", 'depends_on = ["b"]'),
            ("b", "0 2 * * *", 'depends_on = ["a", "ghost"]'),
            ("c", "0 3 * * *", 'depends_on = ["c"]'),
        ),
    )
    assert lines == [
        "jobs[1].depends_on[1]: unknown job 'ghost'",
        "jobs[2].depends_on[0]: job 'c' depends on itself",
        "jobs: dependency cycle a -> b -> a",
    ]


def test_longer_cycle_named_from_its_first_job() -> None:
    text = jobs_toml(
        ("x", "0 1 * * *", 'depends_on = ["z"]'),
        ("y", "0 1 * * *", 'depends_on = ["x"]'),
        ("z", "0 1 * * *", 'depends_on = ["y"]'),
        ("free", "0 1 * * *", 'depends_on = ["x"]'),
    )
    try:
        parse_config(text, "f.toml")
    except ConfigError as exc:
        assert exc.lines == ["f.toml: jobs: dependency cycle x -> z -> y -> x"]
    else:
        raise AssertionError("a cycle was accepted")


def test_valid_jobs_are_listed(isolated: Isolated) -> None:
    path = isolated.write_config(
        jobs_toml(
            ("dump", "30 0 * * *", 'timezone = "Europe/Berlin"'),
            ("backup", "0 2 * * 1-5", 'depends_on = ["dump"]\nmax_runtime = 3600'),
        )
    )
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    assert "jobs:     2" in result.stdout
    assert "backup           0 2 * * 1-5 (UTC)" in result.stdout
