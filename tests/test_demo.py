"""`bridge demo` starts a real estate and, however it ends, leaves nothing behind."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import Isolated, Processes
from pty_term import PtyApp

from bridge.cli.demo import AGENTS, DEMO_DATA, Demo
from bridge.config.file import load_config


@pytest.fixture
def tmpdir_env(isolated: Isolated) -> tuple[Isolated, Path]:
    """The demo's temporary folder goes under the test's own TMPDIR, to be checked after."""
    tmp = isolated.root / "tmp"
    tmp.mkdir()
    isolated.env["TMPDIR"] = str(tmp)
    return isolated, tmp


def leftovers(tmp: Path) -> tuple[list[Path], list[int]]:
    """Demo folders still there, and processes still running from one."""
    folders = list(tmp.glob("bridge-demo-*"))
    procs = []
    for p in psutil.process_iter(["cmdline"]):
        with_tmp = any(str(tmp) in arg for arg in (p.info["cmdline"] or []))
        if with_tmp and p.pid != psutil.Process().pid:
            procs.append(p.pid)
    return folders, procs


def wait_gone(tmp: Path, within: float = 10.0) -> tuple[list[Path], list[int]]:
    deadline = time.monotonic() + within
    while (found := leftovers(tmp)) != ([], []) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def test_recordings_for_every_device() -> None:
    for devices in AGENTS.values():
        for device in devices:
            assert (DEMO_DATA / f"{device}.snmprec").is_file(), device


def test_config_is_valid(tmp_path: Path) -> None:
    demo = Demo(tmp_path)
    demo.agents = {}
    config, _ = load_config(str(demo._write_config()))
    assert [j.name for j in config.jobs] == [
        "backup-nightly", "etl-load", "report-build", "archive-sync"
    ]  # fmt: skip
    assert config.jobs[3].depends_on == ["etl-load"]


def test_headless_demo_stops_clean_on_sigterm(
    tmpdir_env: tuple[Isolated, Path], processes: Processes
) -> None:
    isolated, tmp = tmpdir_env
    proc = processes.bridge(isolated, "demo", "--no-console", "--seconds", "120")
    try:
        check_sigterm(proc, tmp)
    finally:
        if proc.poll() is None:  # SIGTERM, so a failed test still lets the demo clean up
            proc.terminate()
            proc.communicate(timeout=20)


def check_sigterm(proc: subprocess.Popen[str], tmp: Path) -> None:
    assert proc.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("demo: running"):
            break
    assert lines and lines[-1].startswith("demo: running"), lines
    pids = [int(line.split(" pid ")[1].split()[0]) for line in lines if " pid " in line]
    assert len(pids) == len(AGENTS)
    assert all(psutil.pid_exists(p) for p in pids)
    folder = Path(lines[0].split("folder ", 1)[1].strip())
    assert folder.parent == tmp and (folder / "config.toml").is_file()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert f"removed {folder}" in out
    assert wait_gone(tmp) == ([], [])


@pytest.mark.parametrize("how", ["q", "hang-up"])
def test_console_demo_quits_clean(tmpdir_env: tuple[Isolated, Path], how: str) -> None:
    """Quit with q, or close its terminal: the demo's agents and folder go too."""
    isolated, tmp = tmpdir_env
    env = {**isolated.env, "TERM": "xterm-256color"}
    term = PtyApp(["demo"], env, isolated.root, (120, 40), controlling=how == "hang-up")
    try:
        term.wait_for(b"Events", 40)
        term.wait_for(b"backup-nightly", 20)  # the demo's schedule and events are there
        term.wait_for(b"UPS on battery", 20)
        assert leftovers(tmp)[0], "the demo folder exists while it runs"
        if how == "hang-up":
            term.hang_up()
            term.proc.wait(10)  # subprocess.TimeoutExpired if it is left running
        else:
            term.press("q")
            try:
                code = term.wait(30)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the demo did not quit on q; last output: {term.output[-3000:]!r}")
            assert code == 0
    finally:
        term.close()
    assert wait_gone(tmp) == ([], [])


def test_demo_without_snmpsim_is_one_line(isolated: Isolated, tmp_path: Path) -> None:
    """A venv without the demo extra: one line saying how to get it."""
    venv = Path(sys.executable).parent.parent
    bare = tmp_path / "bin" / "python"
    bare.parent.mkdir()
    bare.symlink_to(sys.executable)  # snmpsim-command-responder is not beside this one
    (tmp_path / "pyvenv.cfg").write_text((venv / "pyvenv.cfg").read_text())
    (tmp_path / "lib").symlink_to(venv / "lib")
    result = subprocess.run(
        [str(bare), "-m", "bridge", "demo", "--no-console", "--seconds", "1"],
        env=isolated.env,
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "bridge: demo: snmpsim is not installed: run `make demo`, or pip install "
        "'bridge-console[demo]'"
    ]
