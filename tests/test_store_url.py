"""Opening the store by URL: `[store] url`, `[store] path`, and `open_store`'s one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Isolated, one_error_line, run_bridge

from bridge.config.file import Config
from bridge.core.models import EventInput, Severity
from bridge.core.store_url import StoreURLError, parse_store_url, sqlite_url
from bridge.store import SqliteStore, StoreError, open_store


def test_sqlite_urls() -> None:
    assert parse_store_url("sqlite:///var/lib/b.db").path == Path("/var/lib/b.db")
    assert parse_store_url("sqlite:///tmp/a%20b.db").path == Path("/tmp/a b.db")
    assert parse_store_url("sqlite://~/b.db").path == Path("~/b.db").expanduser()
    assert parse_store_url(sqlite_url(Path("/x/y.db"))).path == Path("/x/y.db")
    for bad in ("sqlite://rel.db", "sqlite:///", "sqlite:///x.db?mode=ro", "/x.db", "mysql://h/db"):
        with pytest.raises(StoreURLError):
            parse_store_url(bad)


def test_server_url_shown_without_its_password() -> None:
    url = parse_store_url("postgresql://bridge:hunter2@db.example:5432/bridge?sslmode=require")
    assert url.backend == "postgresql" and url.path is None
    assert "hunter2" not in url.redacted and "hunter2" not in str(url)
    assert "db.example" in url.redacted
    assert parse_store_url("postgres://h/db").backend == "postgresql"


def test_config_url_path_and_default() -> None:
    assert Config.model_validate({"store": {"url": "sqlite:///s/b.db"}}).store.resolved_url() == (
        "sqlite:///s/b.db"
    )
    by_path = Config.model_validate({"store": {"path": "/s/b.db"}}).store
    assert parse_store_url(by_path.resolved_url()).path == Path("/s/b.db")
    assert by_path.resolved_path() == Path("/s/b.db")
    default = Config.model_validate({}).store
    assert parse_store_url(default.resolved_url()).path == default.resolved_path()


@pytest.mark.parametrize(
    ("store", "expected"),
    [
        ('url = "sqlite:///s/b.db"\npath = "/s/b.db"', "store: set url or path, not both"),
        ('url = "mysql://u:hunter2@h/db"', "store: url scheme 'mysql' is not one bridge knows"),
        ('url = "sqlite://relative.db"', "a SQLite url needs an absolute path"),
    ],
)
def test_bad_store_config_is_one_line(isolated: Isolated, store: str, expected: str) -> None:
    path = isolated.write_config(f"[store]\n{store}\n")
    result = run_bridge(isolated, "--config", str(path), "check-config")
    one_error_line(result, expected)
    assert "hunter2" not in result.stderr


async def test_open_store_by_url_and_by_path(tmp_path: Path) -> None:
    path = tmp_path / "b.db"
    by_url = await open_store(sqlite_url(path))
    try:
        assert isinstance(by_url, SqliteStore) and by_url.path == path
        await by_url.upsert_events(
            [EventInput("local", "h", "cpu", Severity.MAJOR, "hot", 1.0)], "t"
        )
    finally:
        await by_url.close()
    by_path = await open_store(path, read_only=True)
    try:
        assert [e.summary for e in await by_path.list_events()] == ["hot"]
    finally:
        await by_path.close()


async def test_postgresql_nobody_listening_is_one_line_without_the_password() -> None:
    with pytest.raises(StoreError, match="connection refused") as caught:
        await open_store("postgresql://bridge:hunter2@127.0.0.1:1/bridge")
    assert "hunter2" not in str(caught.value) and "\n" not in str(caught.value)


async def test_bad_url_is_a_store_error() -> None:
    with pytest.raises(StoreError, match="no scheme"):
        await open_store("bridge.db")


@pytest.mark.parametrize("command", [["wall"], ["collect"], ["events", "list"]])
def test_commands_open_the_store_by_url(isolated: Isolated, command: list[str]) -> None:
    """The wall, the collector and the CLI all open through open_store: a server that
    does not answer is the same one line from each, password left out."""
    path = isolated.write_config(
        '[store]\nurl = "postgresql://bridge:hunter2@127.0.0.1:1/bridge"\n'
    )
    result = run_bridge(isolated, "--config", str(path), *command)
    one_error_line(result, "connection refused", "127.0.0.1")
    assert "hunter2" not in result.stderr + result.stdout


def test_wall_by_sqlite_url_needs_a_store_first(isolated: Isolated) -> None:
    missing = isolated.root / "nowhere" / "bridge.db"
    path = isolated.write_config(f'[store]\nurl = "{sqlite_url(missing)}"\n')
    result = run_bridge(isolated, "--config", str(path), "wall")
    one_error_line(result, str(missing), "no store here yet")
    assert not missing.exists()  # read-only: the wall creates nothing


def test_check_config_shows_the_store_without_its_password(isolated: Isolated) -> None:
    path = isolated.write_config(
        '[store]\nurl = "postgresql://bridge:hunter2@db.example:5432/bridge"\n'
    )
    result = run_bridge(isolated, "--config", str(path), "check-config")
    assert result.returncode == 0, result.stderr
    [line] = [s for s in result.stdout.splitlines() if s.startswith("store:")]
    assert "db.example:5432/bridge" in line and "hunter2" not in result.stdout
    assert "bridge:" not in line.split("store:", 1)[1].split("db.example")[0]  # nor the user


def test_a_url_without_a_scheme_never_shows_its_password() -> None:
    with pytest.raises(StoreURLError) as caught:
        parse_store_url("bridge:hunter2@db.example/bridge")
    assert "hunter2" not in str(caught.value)
