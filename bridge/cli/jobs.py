"""`bridge job ...`: signals from the jobs themselves, written straight into the store.

    bridge job start NAME [--run-id ID]   prints the run id (ID: the caller's own)
    bridge job ok NAME [--run-id ID]
    bridge job fail NAME [--exit-code N] [--message TEXT] [--run-id ID]
    bridge job run NAME -- COMMAND ARGS...

Exit status: 0 recorded; 2 bad input (unknown job, unknown or finished run id),
nothing recorded except, for an unknown job, a warning event (source 'jobs',
check 'unknown-job'). `job run` exits with the command's own status (128+N when
a signal N ended it; 127 when it could not be started, which is recorded as a
failed run).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import logging
import re
import signal
import sys
import time
from collections.abc import Callable
from typing import BinaryIO

from bridge.cli.support import EXIT_USAGE, fail, global_options, with_store
from bridge.config.file import Config, load_config
from bridge.core.clock import SystemClock
from bridge.core.identity import operator_name
from bridge.core.models import EventInput, JobRun, JobSignalError, Severity
from bridge.core.text import human_duration, safe_text
from bridge.runtime.hosts import host_name, named_explicitly
from bridge.store import Store

__all__ = ["TAIL_LINES", "OutputTail", "add_jobs_parser"]

EXIT_OK, EXIT_NOT_STARTED = 0, 127
TAIL_LINES = 50
MAX_LINE = 1000  # characters kept of one output line (a line may never end)
MAX_MESSAGE = 2000


def _known(args: argparse.Namespace, signal_name: str) -> tuple[Config, str, int | None]:
    """The config, the actor and, for an unknown job, the exit status after recording it."""
    config, path = load_config(args.config)
    actor = operator_name(args.operator, config.operator.name)
    given = getattr(args, "host", None)
    if named_explicitly(config, given):
        # Several hosts report to one store: the run says which one it came from.
        actor = f"{actor}@{host_name(config, given)}"
    name = args.name
    if any(job.name == name for job in config.jobs):
        return config, actor, None
    shown = safe_text(name, limit=80)
    where = str(path) if path else "the built-in defaults (no config file)"
    event = EventInput(
        source="jobs",
        resource=name[:200] or "(empty)",
        check="unknown-job",
        severity=Severity.WARNING,
        summary=f"'{signal_name}' signal for a job not in the config",
        at=SystemClock().now(),
        detail=f"config: {where}",
    )
    with_store(config, lambda store: store.upsert_events([event], actor))
    # Said, so that whoever reads the error knows the console shows it too.
    raised = "raised an unknown-job event (warning) instead"
    return (
        config,
        actor,
        fail(f"job {signal_name}: unknown job {shown!r} (not in {where}); {raised}"),
    )


def cmd_start(args: argparse.Namespace) -> int:
    config, actor, refused = _known(args, "start")
    if refused is not None:
        return refused
    try:
        run = with_store(
            config, lambda s: s.job_start(args.name, actor, SystemClock().now(), run_id=args.run_id)
        )
    except JobSignalError as exc:
        return fail(f"job start: {exc}; nothing recorded")
    print(run.run_id)
    return EXIT_OK


_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")


def run_id_text(text: str) -> str:
    """An argparse type: a run id a shell, a log line and a URL carry unchanged."""
    if not _RUN_ID.fullmatch(text):
        raise argparse.ArgumentTypeError(
            f"{safe_text(text, limit=80)!r} is not a run id (1-64 letters, digits and . _ : @ -,"
            " starting with a letter or digit)"
        )
    return text


def _describe(run: JobRun) -> str:
    out = f"job {run.job} run {run.run_id} {run.status.value}"
    if run.exit_code is not None:
        out += f" (exit {run.exit_code})"
    if run.duration is not None:
        out += f" after {human_duration(run.duration)}"
    return safe_text(out)


def cmd_end(args: argparse.Namespace) -> int:
    ok = args.signal == "ok"
    config, actor, refused = _known(args, args.signal)
    if refused is not None:
        return refused
    message = (args.message or "").strip()
    if len(message) > MAX_MESSAGE:
        return fail(f"job {args.signal}: --message is {len(message)} characters; at most 2000")
    exit_code = None if ok else args.exit_code

    async def work(store: Store) -> JobRun:
        return await store.job_finish(
            args.name,
            actor,
            SystemClock().now(),
            ok=ok,
            run_id=args.run_id,
            exit_code=exit_code,
            message=message,
        )

    try:
        run = with_store(config, work)
    except JobSignalError as exc:
        return fail(f"job {args.signal}: {exc}; nothing recorded")
    print(_describe(run))
    return EXIT_OK


class OutputTail:
    """The last `lines` lines of a byte stream, in bounded memory (lines are cut at MAX_LINE)."""

    def __init__(self, lines: int = TAIL_LINES) -> None:
        self.lines: collections.deque[str] = collections.deque(maxlen=lines)
        self._partial: dict[str, bytearray] = {}

    def feed(self, stream: str, data: bytes) -> None:
        buf = self._partial.setdefault(stream, bytearray())
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                buf += data[start : start + max(0, MAX_LINE * 4 - len(buf))]
                return
            buf += data[start:end][: max(0, MAX_LINE * 4 - len(buf))]
            self._push(buf)
            buf.clear()
            start = end + 1

    def _push(self, buf: bytearray) -> None:
        text = buf.decode("utf-8", errors="replace").rstrip("\r")
        self.lines.append(text[:MAX_LINE])

    def text(self) -> str:
        for buf in self._partial.values():
            if buf:
                self._push(buf)
                buf.clear()
        return "\n".join(self.lines)


async def _pump(reader: asyncio.StreamReader, out: BinaryIO, name: str, tail: OutputTail) -> None:
    """Copy a child's stream through unchanged, keeping its tail."""
    broken = False
    while True:
        chunk = await reader.read(65536)
        if not chunk:
            return
        tail.feed(name, chunk)
        if not broken:
            try:
                out.write(chunk)
                out.flush()
            except (BrokenPipeError, ValueError, OSError):
                broken = True  # our reader went away; the job keeps running


def cmd_run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0].startswith("-") and "--" in command:
        # `job run NAME -v --config F -- COMMAND`: bridge's own options before the `--`.
        split = command.index("--")
        options: argparse.ArgumentParser = global_options()
        options.exit_on_error = False
        try:
            _, unknown = options.parse_known_args(command[:split], namespace=args)
        except argparse.ArgumentError as exc:
            return fail(f"job run: {exc}")
        if unknown:
            return fail(f"job run: unrecognized arguments before '--': {' '.join(unknown)}")
        if args.verbose:  # main() set the level before these were read
            logging.getLogger().setLevel(logging.INFO)
        command = command[split:]
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        return fail("job run: no command given (bridge job run NAME -- COMMAND ARGS...)")
    config, actor, refused = _known(args, "run")
    if refused is not None:
        return refused
    clock = SystemClock()

    async def work(store: Store) -> int:
        run = await store.job_start(args.name, actor, clock.now())
        began = time.monotonic()
        tail = OutputTail()
        try:
            proc = await asyncio.create_subprocess_exec(
                *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
            )
        except OSError as exc:
            reason = exc.strerror or str(exc)
            await store.job_finish(
                args.name,
                actor,
                clock.now(),
                ok=False,
                run_id=run.run_id,
                exit_code=EXIT_NOT_STARTED,
                message=f"cannot start {command[0]!r}: {reason}",
                duration=time.monotonic() - began,
            )
            return fail(
                f"job run: cannot start {safe_text(command[0], limit=120)!r}: {reason}",
                EXIT_NOT_STARTED,
            )
        loop = asyncio.get_running_loop()
        forwarded: list[int] = []
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):

            def forward(sig: int = sig) -> None:
                forwarded.append(sig)
                with contextlib.suppress(ProcessLookupError):
                    proc.send_signal(sig)

            loop.add_signal_handler(sig, forward)
        assert proc.stdout is not None and proc.stderr is not None
        await asyncio.gather(
            _pump(proc.stdout, sys.stdout.buffer, "stdout", tail),
            _pump(proc.stderr, sys.stderr.buffer, "stderr", tail),
        )
        code = await proc.wait()
        duration = time.monotonic() - began
        if code < 0:
            status = 128 - code
            message = f"ended by signal {signal.Signals(-code).name}"
        else:
            status = code
            message = f"exit {code}"
        # The record is written even if we are being told to stop.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)
        await store.job_finish(
            args.name,
            actor,
            clock.now(),
            ok=code == 0,
            run_id=run.run_id,
            exit_code=status,
            message=message,
            output_tail=tail.text(),
            duration=duration,
        )
        return status

    sys.stdout.flush()
    return with_store(config, work)


def add_jobs_parser(
    add: Callable[[str, Callable[[argparse.Namespace], int], str], argparse.ArgumentParser],
) -> None:
    job = add("job", _help, "signals from jobs: start, ok, fail, or run a command")
    sub = job.add_subparsers(title="signals", metavar="SIGNAL")
    job.set_defaults(job_parser=job)

    def signal_parser(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help, parents=[global_options()])
        p.set_defaults(func=func, signal=name)
        p.add_argument("name", metavar="NAME", help="the job's name in the config")
        return p

    start = signal_parser("start", cmd_start, "a run started; prints its run id")
    start.add_argument(
        "--run-id",
        metavar="ID",
        type=run_id_text,
        help="the run's id, e.g. your scheduler's (default: a new one); it must be new",
    )
    ok = signal_parser("ok", cmd_end, "a run ended well")
    fail = signal_parser("fail", cmd_end, "a run failed")
    for p in (ok, fail):
        p.add_argument("--run-id", metavar="ID", help="the id given to or printed by `job start`")
        p.add_argument("--message", default="", help="one line about the run")
    fail.add_argument("--exit-code", type=int, metavar="N", help="the job's exit status")
    run = signal_parser("run", cmd_run, "run a command as the job, recording it")
    run.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND ARGS...")


def _help(args: argparse.Namespace) -> int:
    args.job_parser.print_help(sys.stderr)
    return EXIT_USAGE
