"""Service levels for a period, measured inside operational hours.

A shift lead asks "how fast did we answer, and what kept us busy"; the answer
must not count the night nobody was paid to watch, so every response time is
the part of it that fell inside the configured calendar (`[reports] calendar`).

Response times come from the journal, not the event rows: an event that was
raised, resolved and raised again is two incidents, and an event row only
remembers the last.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bridge.config.file import Config
from bridge.config.schedule import JobConfig
from bridge.core.durations import parse_duration
from bridge.core.hours import OperationalHours
from bridge.core.models import Event, JobRun, JournalEntry, ScheduleAction, ScheduleChange
from bridge.core.query import EventQuery
from bridge.core.text import human_duration, human_time, safe_text
from bridge.core.timefmt import display_tzinfo, show_time
from bridge.core.wrap import numeric, table_text, wrap_text
from bridge.store.protocol import Store

__all__ = [
    "JobStats",
    "Period",
    "PeriodError",
    "Report",
    "ReportData",
    "ResponseStats",
    "Superseded",
    "Table",
    "build_report",
    "compute_report",
    "parse_period",
    "read_report_data",
    "render_markdown",
    "render_text",
    "report_json",
    "report_tables",
    "text_chart",
]

# A run that starts this much before its due time still counts as that occurrence's.
EARLY_S = 300.0
NOISIEST = 5
# The most journal entries one report reads (a busy month is millions, ~200 bytes
# each in memory); a longer period is cut short, and says so.
JOURNAL_LIMIT = 200_000
MAX_CHART_BUCKETS = 48
REACHABILITY = "reachability"
OPENINGS = ("raise", "reopen")


class PeriodError(ValueError):
    """A report period that cannot be used; one line for the user."""


@dataclass(frozen=True, slots=True)
class Period:
    start: float
    end: float


def _instant(text: str, flag: str) -> float:
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise PeriodError(
            f"{flag} {text!r} is not a date and time (try 2026-11-21T08:00 or 2026-11-21)"
        ) from None
    if when.tzinfo is None and display_tzinfo() is not None:
        when = when.replace(tzinfo=display_tzinfo())
    # A naive time is read in the zone the report shows its times in ([ui] time);
    # .timestamp() reads one still naive in this host's zone, with its DST rules.
    return when.timestamp()


def parse_period(since: str | None, start: str | None, end: str | None, now: float) -> Period:
    """From `--since 24h`, or `--from ISO [--to ISO]` (in the display zone unless one is given)."""
    if since is not None and start is not None:
        raise PeriodError("use either --since or --from, not both")
    to = _instant(end, "--to") if end is not None else now
    if since is not None:
        try:
            length = parse_duration(since)
        except ValueError as exc:
            raise PeriodError(f"--since: {exc}") from None
        return Period(to - length, to)
    if start is None:
        raise PeriodError("give a period: --since 24h, or --from ISO [--to ISO]")
    begin = _instant(start, "--from")
    if begin > to:
        raise PeriodError(
            f"the period is reversed: --from {human_time(begin)} is after --to {human_time(to)}"
        )
    if begin == to:
        raise PeriodError(f"the period is empty: --from and --to are both {human_time(to)}")
    return Period(begin, to)


# -- figures -------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ResponseStats:
    """Incidents (raises and re-opens) of one group, with mean response times."""

    key: str
    incidents: int
    acknowledged: int
    resolved: int
    mtta: float | None  # seconds inside operational hours
    mttr: float | None


@dataclass(frozen=True, slots=True)
class JobStats:
    job: str
    due: int
    on_time: int
    late: int
    missed: int
    held: int

    @property
    def rate(self) -> float | None:
        return self.on_time / self.due if self.due else None


@dataclass(frozen=True, slots=True)
class Availability:
    source: str
    resource: str
    down_s: float
    percent: float | None  # of the monitored operational time; None: none was monitored
    # When monitoring began, if inside the period (only from then is it counted);
    # None: all the period. `polled` False: never polled by the period's end.
    since: float | None = None
    polled: bool = True


@dataclass
class Report:
    period: Period
    calendar: str
    open_s: float  # seconds of the period inside operational hours
    by_severity: list[ResponseStats] = field(default_factory=list)
    by_source: list[ResponseStats] = field(default_factory=list)
    events_by_source: list[tuple[str, int]] = field(default_factory=list)
    noisiest: list[tuple[str, str, int]] = field(default_factory=list)
    acks_by_operator: list[tuple[str, int]] = field(default_factory=list)
    jobs: list[JobStats] = field(default_factory=list)
    reschedules: list[ScheduleChange] = field(default_factory=list)
    availability: list[Availability] = field(default_factory=list)
    per_bucket: list[int] = field(default_factory=list)  # incidents per chart bucket
    bucket_s: float = 3600.0
    cut: bool = False  # the period held more journal than one report reads: cut short

    @property
    def on_time_rate(self) -> float | None:
        due = sum(j.due for j in self.jobs)
        return sum(j.on_time for j in self.jobs) / due if due else None


@dataclass
class _Incident:
    event_id: int
    opened: float
    acked: float | None = None
    resolved: float | None = None
    # Operational seconds, computed once: each incident is in two groupings.
    _ack_s: float | None = None
    _fix_s: float | None = None

    def ack_s(self, hours: OperationalHours) -> float:
        assert self.acked is not None
        if self._ack_s is None:
            self._ack_s = hours.seconds_within(self.opened, self.acked)
        return self._ack_s

    def fix_s(self, hours: OperationalHours) -> float:
        assert self.resolved is not None
        if self._fix_s is None:
            self._fix_s = hours.seconds_within(self.opened, self.resolved)
        return self._fix_s


def incidents(entries: Iterable[JournalEntry]) -> list[_Incident]:
    """Each raise or re-open starts an incident; its first ack and its resolve end parts."""
    current: dict[int, _Incident] = {}
    out: list[_Incident] = []
    for e in entries:
        if e.event_id is None:
            continue
        if e.action in OPENINGS:
            current[e.event_id] = inc = _Incident(e.event_id, e.at)
            out.append(inc)
            continue
        inc_or_none = current.get(e.event_id)
        if inc_or_none is None:
            continue
        if e.action == "ack" and inc_or_none.acked is None:
            inc_or_none.acked = e.at
        elif e.action == "resolve" and inc_or_none.resolved is None:
            inc_or_none.resolved = e.at
            del current[e.event_id]
    return out


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def response_stats(
    groups: dict[str, list[_Incident]],
    hours: OperationalHours,
    stop: threading.Event | None = None,
) -> list[ResponseStats]:
    out = []
    for key, items in groups.items():
        ack: list[float] = []
        fix: list[float] = []
        for n, i in enumerate(items):
            if n % 1024 == 0:
                _check(stop)
            if i.acked is not None:
                ack.append(i.ack_s(hours))
            if i.resolved is not None:
                fix.append(i.fix_s(hours))
        out.append(ResponseStats(key, len(items), len(ack), len(fix), _mean(ack), _mean(fix)))
    return out


def _occurrences(job: JobConfig, start: float, end: float) -> list[float]:
    from zoneinfo import ZoneInfo

    from croniter import croniter

    it = croniter(job.schedule, dt.datetime.fromtimestamp(start, ZoneInfo(job.timezone)))
    times: list[float] = []
    try:
        t = float(it.get_next(float))
        while t < end and len(times) < 100_000:
            times.append(t)
            t = float(it.get_next(float))
    except Exception:  # an expression with no further occurrence (30 February)
        pass
    return times


def job_stats(
    job: JobConfig,
    runs: Sequence[JobRun],
    changes: Sequence[ScheduleChange],
    period: Period,
    now: float,
    hours: OperationalHours,
    horizon: float = -math.inf,
) -> JobStats:
    """On time: a run started between its due time and due + grace (a little early is fine).

    Only occurrences that are decided (due + grace has passed), fall inside
    operational hours and come after `horizon` (when the schedule engine first
    judged the job: a job added to the config this morning did not miss last
    night's runs) count; a held one counts as neither.
    """
    decided_by = min(period.end, now)
    latest: dict[float, ScheduleChange] = {}
    for c in sorted(changes, key=lambda c: (c.at, c.id)):
        latest[c.occurrence] = c
    starts = sorted(r.at for r in runs)
    due = on_time = late = missed = held = 0
    occurrences = _occurrences(job, period.start - 1, period.end)
    occurrences = [t for t in occurrences if t >= max(period.start, horizon)]
    # Under half the period, as the schedule engine does: else each run of a job
    # due every minute also counts for the next occurrence, hiding missed ones.
    gaps = [b - a for a, b in itertools.pairwise(occurrences)]
    early = min([EARLY_S, *(g / 2 for g in gaps)])
    for i, occurrence in enumerate(occurrences):
        change = latest.get(occurrence)
        when = occurrence
        if change is not None and change.action is ScheduleAction.HOLD:
            held += 1
            continue
        if change is not None and change.action is ScheduleAction.RESCHEDULE:
            when = change.new_time if change.new_time is not None else occurrence
        if when + job.grace > decided_by or not hours.contains(when):
            continue
        due += 1
        if change is not None and change.action is ScheduleAction.DONE:
            on_time += 1
            continue
        following = occurrences[i + 1] if i + 1 < len(occurrences) else math.inf
        window = [s for s in starts if when - early <= s < max(following - early, when + job.grace)]
        if any(s <= when + job.grace for s in window):
            on_time += 1
        elif window:
            late += 1
        else:
            missed += 1
    return JobStats(job.name, due, on_time, late, missed, held)


def _down_intervals(entries: Sequence[JournalEntry]) -> list[tuple[float, float | None]]:
    out: list[tuple[float, float | None]] = []
    down: float | None = None
    for e in entries:
        if e.action in OPENINGS and down is None:
            down = e.at
        elif e.action == "resolve" and down is not None:
            out.append((down, e.at))
            down = None
    if down is not None:
        out.append((down, None))
    return out


class Superseded(Exception):
    """The report being computed is no longer wanted (a newer period, or the view closed)."""


def _check(stop: threading.Event | None) -> None:
    if stop is not None and stop.is_set():
        raise Superseded


@dataclass(frozen=True, slots=True)
class ReportData:
    """Everything a report reads from the store.

    Reading is async (the store's own thread does the I/O); computing from these
    rows is pure Python that can take seconds over a month, so the console runs
    `compute_report` in a thread while its event loop keeps drawing and taking keys.
    """

    entries: list[JournalEntry]
    events: dict[int, Event]
    runs: list[JobRun]
    changes: list[ScheduleChange]
    horizons: dict[str, float]
    reachability: list[tuple[Event, list[JournalEntry]]]
    first_runs: dict[str, float]  # collector name -> its first run
    cut_at: float | None = None  # the journal was read up to here, not to the period's end


async def read_report_data(store: Store, period: Period) -> ReportData:
    entries = await store.journal_between(period.start, period.end, limit=JOURNAL_LIMIT)
    cut_at: float | None = None
    if len(entries) >= JOURNAL_LIMIT:
        # More than one report holds in memory. Figures over the whole period
        # from part of its journal would be quietly wrong; the report covers
        # the part read, and says so. The last instant may be partly read.
        cut_at = entries[-1].at
        entries = [e for e in entries if e.at < cut_at]
    found = await store.events_by_id([e.event_id for e in entries if e.event_id is not None])
    # Runs up to one day early can belong to the first occurrence.
    runs = await store.job_runs(since=period.start - 86400, limit=1_000_000)
    changes = await store.schedule_changes(since=period.start - 86400 * 31, limit=1_000_000)
    # Judged from when the schedule engine first saw the job (if one ever did).
    horizons = {s.job: s.first_at for s in await store.job_statuses()}
    listed = await store.list_events(
        include_resolved=True, query=EventQuery(check=(REACHABILITY,)), limit=10_000
    )
    reachability = [
        (e, sorted(await store.journal(e.id, limit=100_000), key=lambda j: (j.at, j.id)))
        for e in listed
        if e.check == REACHABILITY
    ]
    first_runs = await store.first_runs()
    return ReportData(entries, found, runs, changes, horizons, reachability, first_runs, cut_at)


def monitored_since(data: ReportData) -> dict[tuple[str, str], float]:
    """When each resource was first polled: its collector's first run or, for
    rows older than that record, its first reachability entry (a poll made it)."""
    out: dict[tuple[str, str], float] = {}
    for name, first in data.first_runs.items():
        source, _, resource = name.partition(":")
        if resource:
            out[(source, resource)] = first
    for event, entries in data.reachability:
        key = (event.source, event.resource)
        if entries:
            out[key] = min(out.get(key, math.inf), entries[0].at)
    return out


def availability(
    data: ReportData, config: Config, period: Period, hours: OperationalHours
) -> list[Availability]:
    """From reachability events: the share of monitored operational time each
    resource answered. Time before its first poll is neither up nor down: a
    device added this morning is judged on this morning."""
    down: dict[tuple[str, str], float] = {("snmp", d.name): 0.0 for d in config.devices}
    firsts = monitored_since(data)
    for event, entries in data.reachability:
        total = 0.0
        for began, ended in _down_intervals(entries):
            lo = max(began, period.start)
            hi = min(ended if ended is not None else period.end, period.end)
            total += hours.seconds_within(lo, hi)
        key = (event.source, event.resource)
        down[key] = down.get(key, 0.0) + total
    out = []
    for (source, resource), secs in sorted(down.items()):
        first = firsts.get((source, resource), math.inf)
        start = max(period.start, first)
        monitored = hours.seconds_within(start, period.end)
        out.append(
            Availability(
                source,
                resource,
                secs,
                100.0 * (1 - min(secs, monitored) / monitored) if monitored else None,
                since=first if period.start < first < period.end else None,
                polled=first < period.end,
            )
        )
    return out


def compute_report(
    data: ReportData,
    config: Config,
    period: Period,
    now: float,
    stop: threading.Event | None = None,
) -> Report:
    """The figures from what was read; pure, so it may run off the event loop.

    `stop` set (from another thread) ends it early with `Superseded`, so an
    abandoned month does not keep a core busy behind the one now wanted.
    """
    hours = config.hours(config.reports.calendar)
    if data.cut_at is not None:
        period = Period(period.start, data.cut_at)
    report = Report(period, hours.name, hours.seconds_within(period.start, period.end))
    report.cut = data.cut_at is not None
    entries, found = data.entries, data.events
    incs = [i for i in incidents(entries) if i.event_id in found]
    _check(stop)
    by_sev: dict[str, list[_Incident]] = defaultdict(list)
    by_src: dict[str, list[_Incident]] = defaultdict(list)
    for inc in sorted(incs, key=lambda i: -found[i.event_id].severity):
        by_sev[found[inc.event_id].severity.label].append(inc)
    for inc in incs:
        by_src[found[inc.event_id].source].append(inc)
    report.by_severity = response_stats(by_sev, hours, stop)
    report.by_source = response_stats(dict(sorted(by_src.items())), hours, stop)
    sources = Counter(found[i.event_id].source for i in incs)
    report.events_by_source = sorted(sources.items(), key=lambda kv: (-kv[1], kv[0]))
    noisy = Counter((found[i.event_id].source, found[i.event_id].resource) for i in incs)
    report.noisiest = [
        (s, r, n) for (s, r), n in sorted(noisy.items(), key=lambda kv: (-kv[1], kv[0]))
    ][:NOISIEST]
    acks = Counter(e.actor for e in entries if e.action == "ack")
    report.acks_by_operator = sorted(acks.items(), key=lambda kv: (-kv[1], kv[0]))
    runs_of: dict[str, list[JobRun]] = defaultdict(list)
    for r in data.runs:
        runs_of[r.job].append(r)
    changes_of: dict[str, list[ScheduleChange]] = defaultdict(list)
    for c in data.changes:
        changes_of[c.job].append(c)
    for job in config.jobs:  # grouped once: filtering per job was jobs x runs
        _check(stop)
        report.jobs.append(
            job_stats(
                job,
                runs_of[job.name],
                changes_of[job.name],
                period,
                now,
                hours,
                data.horizons.get(job.name, -math.inf),
            )
        )
    report.reschedules = [c for c in data.changes if period.start <= c.at < period.end]
    _check(stop)
    report.availability = availability(data, config, period, hours)
    span = period.end - period.start
    report.bucket_s = max(3600.0, math.ceil(span / MAX_CHART_BUCKETS / 3600) * 3600)
    buckets = max(1, math.ceil(span / report.bucket_s))
    report.per_bucket = [0] * buckets
    for inc in incs:
        report.per_bucket[
            min(buckets - 1, int((inc.opened - period.start) // report.bucket_s))
        ] += 1
    return report


async def build_report(store: Store, config: Config, period: Period, now: float) -> Report:
    return compute_report(await read_report_data(store, period), config, period, now)


# -- presentation ------------------------------------------------------------------------
_BLOCKS = " ▁▂▃▄▅▆▇█"


def text_chart(values: Sequence[int]) -> str:
    """One character per bucket, scaled to the largest: a trend at a glance."""
    top = max(values, default=0)
    if top <= 0:
        return _BLOCKS[0] * len(values)
    return "".join(_BLOCKS[max(1 if v else 0, round(v / top * 8))] for v in values)


@dataclass(frozen=True, slots=True)
class Table:
    title: str
    headers: tuple[str, ...]
    rows: Sequence[tuple[str, ...]]
    empty: str = "none"


def _dur(seconds: float | None) -> str:
    return "—" if seconds is None else human_duration(seconds)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


def _response_rows(stats: Sequence[ResponseStats]) -> list[tuple[str, ...]]:
    return [
        (safe_text(s.key), str(s.incidents), str(s.acknowledged), _dur(s.mtta),
         str(s.resolved), _dur(s.mttr))
        for s in stats
    ]  # fmt: skip


CHANGE_HEADERS = ("when", "job", "action", "by", "reason")


def change_rows(changes: Iterable[ScheduleChange]) -> list[tuple[str, ...]]:
    """Reschedules and holds as rows; the service report and the handover both list them."""
    return [
        (human_time(c.at), safe_text(c.job), c.action.value,
         safe_text(c.actor), safe_text(c.reason))
        for c in changes
    ]  # fmt: skip


def change_json(c: ScheduleChange) -> dict[str, Any]:
    return {
        "at": c.at,
        "job": c.job,
        "action": c.action.value,
        "occurrence": c.occurrence,
        "new_time": c.new_time,
        "actor": c.actor,
        "reason": c.reason,
    }


def monitored_note(a: Availability, period: Period) -> str:
    """Say when only part of the period counted: "monitored since 08:15 UTC" (display zone)
    (with the date when that is more than a day before the period's end)."""
    if not a.polled:
        return "never polled"
    if a.since is None:
        return "whole period"
    recent = period.end - a.since <= 86400
    return f"monitored since {show_time(a.since, 'hm' if recent else 'minute', label=True)}"


RESPONSE_HEADERS = ("", "incidents", "acked", "MTTA", "resolved", "MTTR")


def report_tables(report: Report) -> list[Table]:
    """The report as tables; text, Markdown and the console all draw these."""
    jobs_rows: list[tuple[str, ...]] = [
        (safe_text(j.job), str(j.due), str(j.on_time), str(j.late), str(j.missed),
         str(j.held), _pct(None if j.rate is None else j.rate * 100))
        for j in report.jobs
    ]  # fmt: skip
    if report.jobs:
        rate = report.on_time_rate
        jobs_rows.append(
            ("all jobs", str(sum(j.due for j in report.jobs)),
             str(sum(j.on_time for j in report.jobs)), str(sum(j.late for j in report.jobs)),
             str(sum(j.missed for j in report.jobs)), str(sum(j.held for j in report.jobs)),
             _pct(None if rate is None else rate * 100))
        )  # fmt: skip
    return [
        Table("Response by severity", ("severity", *RESPONSE_HEADERS[1:]),
              _response_rows(report.by_severity), "no events raised"),
        Table("Response by source", ("source", *RESPONSE_HEADERS[1:]),
              _response_rows(report.by_source), "no events raised"),
        Table("Events per source", ("source", "events"),
              [(safe_text(s), str(n)) for s, n in report.events_by_source]),
        Table("Noisiest", ("source", "resource", "events"),
              [(safe_text(s), safe_text(r), str(n))
               for s, r, n in report.noisiest]),
        Table("Acknowledgements per operator", ("operator", "acks"),
              [(safe_text(a), str(n)) for a, n in report.acks_by_operator]),
        Table("Jobs on time", ("job", "due", "on time", "late", "missed", "held", "rate"),
              jobs_rows, "no jobs configured"),
        Table("Reschedules", CHANGE_HEADERS, change_rows(report.reschedules)),
        Table("Availability", ("source", "resource", "down", "available", "counted"),
              [(a.source, safe_text(a.resource), _dur(a.down_s), _pct(a.percent),
                monitored_note(a, report.period)) for a in report.availability], "no devices"),
    ]  # fmt: skip


def report_heading(report: Report) -> list[str]:
    p = report.period
    hours = human_duration(report.open_s)
    cut = (
        [
            f"Cut short: the period holds more than {JOURNAL_LIMIT:,} journal entries; "
            "figures cover the time above. Ask for a shorter period for the rest."
        ]
        if report.cut
        else []
    )
    return [
        f"Service report {human_time(p.start)} to {human_time(p.end)}",
        *cut,
        f"Operational hours: {report.calendar} ({hours} of the period); "
        "response times count only inside them.",
        f"Incidents per {human_duration(report.bucket_s)}: {text_chart(report.per_bucket)}",
    ]


def render_text(heading: Sequence[str], tables: Sequence[Table], width: int | None = None) -> str:
    """The report as text; with `width` (a terminal's), every line fits it and long
    cells wrap inside their column, so nothing is cut; without, rows are whole."""
    out = [line for h in heading for line in (wrap_text(h, width) if width else [h])]
    for table in tables:
        out += ["", table.title]
        if not table.rows:
            out.append(f"  {table.empty}")
            continue
        out += table_text(table.headers, table.rows, width, right=numeric)
    return "\n".join(out) + "\n"


def _md(cell: str) -> str:
    return cell.replace("\\", "\\\\").replace("|", "\\|").replace("`", "\\`") or " "


def render_markdown(heading: Sequence[str], tables: Sequence[Table]) -> str:
    out = [f"# {heading[0]}", "", *[f"{h}  " for h in heading[1:]]]
    for table in tables:
        out += ["", f"## {table.title}", ""]
        if not table.rows:
            out.append(f"_{table.empty}_")
            continue
        out.append("| " + " | ".join(_md(h) for h in table.headers) + " |")
        out.append("|" + "|".join("---" for _ in table.headers) + "|")
        out.extend("| " + " | ".join(_md(c) for c in r) + " |" for r in table.rows)
    return "\n".join(out) + "\n"


def _stats_json(stats: Sequence[ResponseStats]) -> dict[str, Any]:
    return {
        s.key: {
            "incidents": s.incidents,
            "acknowledged": s.acknowledged,
            "mtta_s": s.mtta,
            "resolved": s.resolved,
            "mttr_s": s.mttr,
        }
        for s in stats
    }


def report_json(report: Report) -> dict[str, Any]:
    return {
        "from": report.period.start,
        "to": report.period.end,
        "cut_short": report.cut,
        "calendar": report.calendar,
        "operational_s": report.open_s,
        "by_severity": _stats_json(report.by_severity),
        "by_source": _stats_json(report.by_source),
        "events_by_source": dict(report.events_by_source),
        "noisiest": [{"source": s, "resource": r, "events": n} for s, r, n in report.noisiest],
        "acks_by_operator": dict(report.acks_by_operator),
        "jobs": {
            j.job: {
                "due": j.due,
                "on_time": j.on_time,
                "late": j.late,
                "missed": j.missed,
                "held": j.held,
                "rate": j.rate,
            }
            for j in report.jobs
        },
        "on_time_rate": report.on_time_rate,
        "reschedules": [change_json(c) for c in report.reschedules],
        "availability": [
            {
                "source": a.source,
                "resource": a.resource,
                "down_s": a.down_s,
                "percent": a.percent,
                "monitored_since": a.since,  # null: the whole period (or never polled)
                "polled": a.polled,
            }
            for a in report.availability
        ],
        "incidents_per_bucket": report.per_bucket,
        "bucket_s": report.bucket_s,
    }
