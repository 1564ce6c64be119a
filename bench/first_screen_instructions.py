"""Instructions the console runs up to its first full screen, next to a bare Textual app.

    python bench/first_screen_instructions.py [--size COLSxROWS]

The wall-clock first screen of bench/console.py moves by a third between runs
on a shared machine; an instruction count does not. Each program runs once
under `valgrind --tool=callgrind` (every thread counted) in a detached tmux
pane (a private tmux server) and ends itself, by `os._exit`, as soon as its
terminal output so far holds both "load " and "Quit": the Health pane with
data and the footer, bench/console.py's test of a drawn screen.

- bridge: `bridge --config CFG` with `[local] interval = 1` in a temporary
  home that one earlier start (not counted, not under valgrind) left as an
  operator's usual start finds it: the store made. Valgrind slows it some
  fifty times, so the bound on waiting for the first local sample (bridge.ui.app.FIRST_SAMPLE_WAIT_S) is raised here, or
  the count would be of a first screen without it.
- the reference: bench/console.py's bare Textual app (one label, Textual's
  footer), in the same run.

Needs valgrind (Debian's `valgrind`); without it this prints why and exits 0.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _terminal import TERM, BenchError, Tmux
from console import TEXTUAL_FLOOR_APP, bridge_drawn, parse_size

ROOT = Path(__file__).resolve().parent.parent
BRIDGE = Path(sys.executable).parent / "bridge"
RUN_TIMEOUT = 300.0  # under valgrind a start takes 20-60 s here

# Runs `code` with the terminal writes watched: at the first full screen, exit.
HARNESS = """\
import os, sys
from textual.drivers import linux_driver

seen = []
write = linux_driver.LinuxDriver.write

def watched(self, data):
    write(self, data)
    seen.append(data)
    text = "".join(seen)
    if "load " in text and "Quit" in text:
        os._exit(0)

linux_driver.LinuxDriver.write = watched
"""

BRIDGE_MAIN = """\
import bridge.ui.app
bridge.ui.app.FIRST_SAMPLE_WAIT_S = 600.0
from bridge.cli.main import main
sys.argv[0] = "bridge"
main()
"""

_COLLECTED = re.compile(r"Collected\s*:\s*([\d,]+)")


def server_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE", "COLORTERM"}}
    return env | {"TERM": TERM}


def count(name: str, argv: list[str], env: dict[str, str], cols: int, rows: int, work: Path) -> int:
    log = work / f"{name}.valgrind"
    out = work / f"{name}.callgrind"
    command = shlex.join(
        [
            "env",
            *(f"{k}={v}" for k, v in env.items()),
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={out}",
            f"--log-file={log}",
            *argv,
        ]
    )
    tmux = Tmux(f"benchic{name}", server_env())
    try:
        tmux.start("ic", cols, rows, command, work / "tmux.conf")
        deadline = time.monotonic() + RUN_TIMEOUT
        while tmux.pane("ic:0.0", "#{pane_dead}") != "1":
            if time.monotonic() > deadline:
                raise BenchError(f"{name}: no full screen under valgrind in {RUN_TIMEOUT:.0f} s")
            time.sleep(0.5)
        status = tmux.pane("ic:0.0", "#{pane_dead_status}")
    finally:
        tmux.kill_server()
    # Exit status 0 only from the harness, at a full screen.
    match = _COLLECTED.search(log.read_text()) if log.exists() else None
    if status != "0" or match is None:
        detail = log.read_text()[-2000:] if log.exists() else "no valgrind log"
        raise BenchError(f"{name}: exited {status} before a full screen:\n{detail}")
    return int(match[1].replace(",", ""))


def warm_up(argv: list[str], env: dict[str, str], cols: int, rows: int, work: Path) -> None:
    """One ordinary start that draws and quits: the store is left as an
    operator's second start finds it."""
    tmux = Tmux("benchicwarm", server_env())
    command = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()), *argv])
    try:
        tmux.start("w", cols, rows, command, work / "tmux.conf")
        deadline = time.monotonic() + 60
        while not bridge_drawn(tmux.capture("w:0.0")):
            if time.monotonic() > deadline:
                raise BenchError("bridge drew no full screen in 60 s")
            time.sleep(0.1)
        tmux("send-keys", "-t", "w:0.0", "q")  # quits, releasing the collector lease
        while tmux.pane("w:0.0", "#{pane_dead}") != "1":
            if time.monotonic() > deadline:
                raise BenchError("bridge did not quit on q")
            time.sleep(0.1)
    finally:
        tmux.kill_server()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--size", type=parse_size, default=(120, 40), help="terminal COLSxROWS (120x40)"
    )
    args = parser.parse_args(argv)
    cols, rows = args.size
    if shutil.which("valgrind") is None:
        print("valgrind not found (Debian: apt-get install valgrind): nothing measured")
        return 0
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "bridge", "collectors", "themes"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    print(f"{cols}x{rows} tmux pane, callgrind; Python {sys.version.split()[0]}", flush=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bridge-bench-ic-") as tmp:
            work = Path(tmp)
            config = work / "config.toml"
            config.write_text("[local]\ninterval = 1\n")
            env = {f"XDG_{d}_HOME": str(work / d.lower()) for d in ("DATA", "CONFIG", "CACHE")}
            warm_up([str(BRIDGE), "--config", str(config)], env, cols, rows, work)
            python = [sys.executable, "-c"]
            ours = count(
                "bridge",
                [*python, HARNESS + BRIDGE_MAIN, "--config", str(config)],
                env,
                cols,
                rows,
                work,
            )
            floor = count("floor", [*python, HARNESS + TEXTUAL_FLOOR_APP], {}, cols, rows, work)
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    print(f"bridge, a usual start:        {ours / 1e6:8.0f} M instructions to its first screen")
    print(f"a bare Textual app (1 label): {floor / 1e6:8.0f} M  (bridge is {ours / floor:.2f} x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
