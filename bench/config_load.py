"""The config's share of start-up: importing bridge.config.file, and checking a file.

    python bench/config_load.py [--runs N] [--devices D] [--jobs J]

Figures, medians over N runs:

- import: `import bridge.config.file` (with everything it pulls in) timed inside a
  fresh interpreter, from byte-compiled modules as `make run` starts; the
  reference is `import json` timed the same way in the same run, a stdlib
  module whose cost tracks how busy the machine is;
- check: `parse_config` of a file with D devices, J jobs, calendars, rules,
  webhooks and HTTP checks, first in a fresh interpreter (cold: type hints
  resolved, croniter imported) and then again in the same one (warm); the
  reference is `tomllib.loads` of the same text, the parsing no checker can skip.

Target (issue #3, first screen): import <= 30 ms.
"""

from __future__ import annotations

import argparse
import compileall
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_IMPORT_MS = 30.0

IMPORT_PROBE = """\
import sys, time
t = time.perf_counter()
__import__(sys.argv[1])
print((time.perf_counter() - t) * 1000)
"""

CHECK_PROBE = """\
import json, sys, time
text = open(sys.argv[1], encoding="utf-8").read()
t = time.perf_counter()
import tomllib
tomllib.loads(text)
toml_ms = (time.perf_counter() - t) * 1000
from bridge.config.file import parse_config
t = time.perf_counter()
parse_config(text, sys.argv[1])
cold_ms = (time.perf_counter() - t) * 1000
t = time.perf_counter()
parse_config(text, sys.argv[1])
warm_ms = (time.perf_counter() - t) * 1000
print(json.dumps([toml_ms, cold_ms, warm_ms]))
"""


def config_text(devices: int, jobs: int) -> str:
    out = [
        "[local]\ninterval = 2\n",
        '[calendars.business]\ntimezone = "Europe/Berlin"\nstart = "08:00"\nend = "18:00"\n',
        '[[rules]]\nsource = "snmp:*"\nfor = 30\nseverity = "major"\n',
        '[[webhooks]]\nname = "ops"\nurl = "https://hooks.example.com/x"\n',
        '[[escalations]]\nname = "crit"\ntargets = ["ops"]\nafter = "15m"\n',
    ]
    for i in range(devices):
        out.append(
            f'[[devices]]\nname = "sw{i:04d}"\naddress = "192.0.2.{i % 250 + 1}"\n'
            f'community = "c{i}"\ntags = ["access"]\n'
        )
    for i in range(jobs):
        dep = f'depends_on = ["job{i - 1:04d}"]\n' if i else ""
        out.append(
            f'[[jobs]]\nname = "job{i:04d}"\nschedule = "{i % 60} {i % 24} * * *"\n'
            f'timezone = "Europe/London"\ncalendar = "business"\n{dep}'
        )
    for i in range(10):
        out.append(f'[[http_checks]]\nname = "web{i}"\nurl = "http://127.0.0.1:{8000 + i}/"\n')
    return "\n".join(out)


def run(code: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd=ROOT,
    )
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--jobs", type=int, default=200)
    args = parser.parse_args()
    for folder in ("bridge", "collectors", "themes"):
        compileall.compile_dir(ROOT / folder, quiet=1)

    imports: dict[str, list[float]] = {"bridge.config.file": [], "json": []}
    for _ in range(args.runs):
        for name, times in imports.items():
            times.append(float(run(IMPORT_PROBE, name)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "config.toml"
        path.write_text(config_text(args.devices, args.jobs), encoding="utf-8")
        checks = [json.loads(run(CHECK_PROBE, str(path))) for _ in range(args.runs)]

    def med(values: list[float]) -> str:
        return f"{statistics.median(values):6.1f} ms"

    config_ms = statistics.median(imports["bridge.config.file"])
    print(f"config, median of {args.runs} fresh interpreters")
    print(f"  import bridge.config.file   {med(imports['bridge.config.file'])}")
    print(f"  reference: import json {med(imports['json'])}")
    print(f"  check {args.devices} devices + {args.jobs} jobs:")
    print(f"    cold (first check)   {med([c[1] for c in checks])}")
    print(f"    warm                 {med([c[2] for c in checks])}")
    print(f"    reference: tomllib   {med([c[0] for c in checks])}   (parsing alone)")
    met = "met" if config_ms <= TARGET_IMPORT_MS else "NOT met"
    print(f"  target: import <= {TARGET_IMPORT_MS:.0f} ms: {met} ({config_ms:.1f} ms)")


if __name__ == "__main__":
    main()
