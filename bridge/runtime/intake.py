"""The HTTP intake: job pings (Healthchecks' pinging API), the events API, Alertmanager.

Served by the lease holder in its own event loop (aiohttp's server through
AppRunner/TCPSite, no second loop), so what arrives goes through the same store
calls as `bridge job ...` and the same rules as every collector. aiohttp is
imported only with this module, which the poller imports only when `[intake]`
is enabled.

Requests come from strangers: every refusal is a one-message JSON body with its
status, counted by kind, and never a traceback in the log; a request is checked
whole before anything of it is stored.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import re
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

from bridge.config.file import Config
from bridge.config.intake import IntakeTokenConfig, Use
from bridge.core.clock import Clock
from bridge.core.models import (
    CollectorHealth,
    EventInput,
    EventState,
    JobRunStatus,
    JobSignalError,
    Severity,
)
from bridge.rules.engine import Observation
from bridge.runtime.group_commit import BatchFailed, GroupCommit
from bridge.runtime.intake_stats import STATS_RESOURCE, STATS_SOURCE
from bridge.runtime.runner import CollectorRunner
from bridge.store.protocol import Store
from collectors.base import Reading

__all__ = ["HEALTH_NAME", "Intake", "IntakeStats", "run_intake"]

log = logging.getLogger(__name__)

HEALTH_NAME = "intake"
RETRY_BIND_S = 10.0
HEALTH_EVERY_S = 5.0
TAIL_LINES = 50
MAX_LINE = 1000
MAX_FIELD = 200
MAX_SUMMARY = 500
MAX_DETAIL = 8000
MAX_BATCH = 1000
MAX_ALERTS = 10_000
SEEN_ALERTS = 100_000  # (fingerprint, status, startsAt) remembered, to drop re-sends
ALERTMANAGER = "alertmanager"
OPENAPI_PATH = "/api/v1/openapi.json"
# The OpenAPI description, shipped beside this module (docs/intake-openapi.json is
# its copy for readers; a test keeps the two equal).
OPENAPI_FILE = "intake_openapi.json"
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,63}")
_EXIT = re.compile(r"[0-9]{1,3}")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Refused(Exception):
    """A request refused: its status, its kind (for the counts) and one message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


@dataclass
class IntakeStats:
    """What the intake has seen since it started: for its health and the Health pane."""

    requests: int = 0
    errors: collections.Counter[str] = field(default_factory=collections.Counter)
    last_by_token: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        """Errors by kind, most frequent first, e.g. `wrong-token 3, too-large 1`."""
        return ", ".join(f"{kind} {n}" for kind, n in self.errors.most_common())


# aiohttp's server logs a request it cannot parse at ERROR with its traceback; here,
# through a filter, it is one DEBUG line and a count: strangers' garbage is not news.
server_log = logging.getLogger("bridge.runtime.intake.http")


class _Malformed(logging.Filter):
    """Turns aiohttp's report of an unparsable request into one counted DEBUG line."""

    def __init__(self, stats: IntakeStats, redact: Callable[[str], str]) -> None:
        super().__init__()
        self.stats = stats
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if record.levelno >= logging.WARNING or exc is not None:
            self.stats.errors["malformed"] += 1
            reason = str(exc).splitlines()[0][:200] if exc is not None else record.getMessage()
            record.msg = "intake: a malformed request refused: %s"
            record.args = (self.redact(reason),)
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= server_log.getEffectiveLevel()


def output_tail(body: bytes) -> str:
    """The last lines of a ping's body as text (untrusted: shown literally elsewhere)."""
    text = body.decode("utf-8", errors="replace")
    lines = text.splitlines()[-TAIL_LINES:]
    return "\n".join(line[:MAX_LINE] for line in lines)


def _text(item: dict[str, Any], key: str, limit: int, *, required: bool = True) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise Refused(400, "bad-request", f"{key!r} must be a string")
    value = value.strip()
    if required and not value:
        raise Refused(400, "bad-request", f"{key!r} is empty")
    if len(value) > limit:
        raise Refused(400, "bad-request", f"{key!r} is {len(value)} characters; at most {limit}")
    return value


class Intake:
    """The aiohttp application and its handlers, bound to one store and rule engine."""

    def __init__(
        self,
        config: Config,
        store: Store,
        runner: CollectorRunner,
        clock: Clock,
        *,
        holds_lease: Callable[[], bool] = lambda: True,
    ) -> None:
        self.config = config
        self.settings = config.intake
        self.store = store
        self.runner = runner
        self.clock = clock
        self.holds_lease = holds_lease
        self.stats = IntakeStats()
        self.jobs = {job.name for job in config.jobs}
        self.app = web.Application(
            client_max_size=self.settings.max_body, middlewares=[self._middleware]
        )
        routes = self.app.router
        routes.add_route("*", "/ping/{token}/{job}", self._ping)
        routes.add_route("*", "/ping/{token}/{job}/{action}", self._ping)
        routes.add_route("*", "/api/v1/events", self._events)
        routes.add_route("*", "/api/v1/alertmanager", self._alertmanager)
        routes.add_route("*", "/healthz", self._healthz)
        routes.add_route("*", OPENAPI_PATH, self._openapi)
        self._seen: collections.OrderedDict[tuple[str, str, str], None] = collections.OrderedDict()
        self._secrets = [t.token.get_secret_value() for t in self.settings.tokens]
        self._malformed = _Malformed(self.stats, self.redact)
        self._runner: web.AppRunner | None = None
        self._openapi_body: bytes | None = None
        # Concurrent POST /api/v1/events share transactions (see bridge.runtime.group_commit).
        self.events_commit: GroupCommit[Observation, dict[str, int]] = GroupCommit(
            self._commit_events
        )
        self.address: tuple[str, int] | None = None

    # -- serving ----------------------------------------------------------------------
    async def start(self) -> None:
        """Bind and serve; raises OSError when the address cannot be bound."""
        context = None
        if self.settings.tls_cert is not None and self.settings.tls_key is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.settings.tls_cert, self.settings.tls_key)
        runner = web.AppRunner(
            self.app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=1.0,
            logger=server_log,
        )
        server_log.addFilter(self._malformed)
        await runner.setup()
        site = web.TCPSite(
            runner,
            self.settings.address,
            self.settings.port,
            ssl_context=context,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            server_log.removeFilter(self._malformed)
            raise
        self._runner = runner
        for address in runner.addresses:
            if isinstance(address, tuple):
                self.address = (str(address[0]), int(address[1]))
                break

    async def close(self) -> None:
        await self.events_commit.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            server_log.removeFilter(self._malformed)

    def redact(self, text: str) -> str:
        """`text` with every token replaced: a ping URL carries one."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    # -- every request ----------------------------------------------------------------
    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.stats.requests += 1
        try:
            return await handler(request)
        except Refused as refused:
            return self._refusal(refused.status, refused.kind, refused.message)
        except web.HTTPRequestEntityTooLarge:
            limit = self.settings.max_body
            return self._refusal(413, "too-large", f"the body is over {limit} bytes")
        except web.HTTPNotFound:
            return self._refusal(404, "not-found", "no such path")
        except web.HTTPMethodNotAllowed:
            return self._refusal(405, "method", "method not allowed here")
        except web.HTTPException as exc:
            return self._refusal(exc.status, "bad-request", exc.reason)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a fault of ours: one line, no traceback for a stranger
            where = self.redact(f"{request.method[:20]} {request.path[:200]}")
            log.warning("intake: %s failed: %s", where, self.redact(str(exc)[:300]))
            return self._refusal(500, "internal", "the request could not be handled")

    def _refusal(self, status: int, kind: str, message: str) -> web.Response:
        self.stats.errors[kind] += 1
        return web.json_response({"error": message}, status=status)

    def _token(self, secret: str | None, use: Use) -> IntakeTokenConfig:
        if not secret:
            raise Refused(401, "no-token", "a token is needed (Authorization: Bearer TOKEN)")
        token = self.settings.token_for(secret)
        if token is None:
            raise Refused(403, "wrong-token", "the token is not known")
        if use not in token.allow:
            raise Refused(403, "not-allowed", f"token {token.name!r} may not send {use}")
        self.stats.last_by_token[token.name] = self.clock.now()
        return token

    def _bearer(self, request: web.Request, use: Use) -> IntakeTokenConfig:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer":
            secret = ""
        return self._token(secret.strip(), use)

    @staticmethod
    def _methods(request: web.Request, *allowed: str) -> None:
        if request.method not in allowed:
            raise Refused(405, "method", f"{request.method[:20]} is not allowed here")

    async def _json(self, request: web.Request) -> Any:
        body = await request.read()
        try:
            return json.loads(body)
        except (UnicodeDecodeError, ValueError, RecursionError):
            raise Refused(400, "bad-request", "the body is not JSON") from None

    # -- job pings --------------------------------------------------------------------
    async def _ping(self, request: web.Request) -> web.StreamResponse:
        self._methods(request, "GET", "HEAD", "POST")
        token = self._token(request.match_info["token"], "ping")
        job = request.match_info["job"]
        action = request.match_info.get("action", "")
        exit_code: int | None = None
        if _EXIT.fullmatch(action):
            exit_code = int(action)
            if exit_code > 255:
                raise Refused(400, "bad-request", "an exit status is 0 to 255")
        elif action not in ("", "start", "fail", "log"):
            raise Refused(404, "not-found", "no such ping (start, fail, log or 0 to 255)")
        rid = request.query.get("rid")
        if rid is not None and not _RUN_ID.fullmatch(rid):
            raise Refused(400, "bad-request", "rid is 1 to 64 letters, digits and . _ : @ -")
        body = await request.read()
        now = self.clock.now()
        actor = f"intake:{token.name}"
        if job not in self.jobs:
            signal = action if action in ("start", "fail", "log") else "ok"
            if exit_code is not None and exit_code != 0:
                signal = "fail"
            await self._unknown_job(job, signal, token.name, now)
            raise Refused(404, "unknown-job", "no such job in the config")
        try:
            if action == "start":
                await self._start(job, actor, now, rid)
            elif action == "log":
                note = f"{job}: {output_tail(body)}"[:MAX_DETAIL]
                await self.store.record(actor, "job-log", note, now)
            else:
                ok = exit_code == 0 if exit_code is not None else action != "fail"
                await self._finish(job, actor, now, ok, rid, exit_code, output_tail(body))
        except JobSignalError as exc:
            raise Refused(409, "conflict", str(exc)[:300]) from None
        if self.runner.on_write is not None:
            self.runner.on_write()
        return web.Response(text="OK")

    async def _start(self, job: str, actor: str, now: float, rid: str | None) -> None:
        if rid is not None:
            known = await self.store.get_job_run(rid)
            if known is not None and known.job == job and not known.finished:
                return  # a start sent again (a retry after a lost answer): already recorded
        await self.store.job_start(job, actor, now, run_id=rid)

    async def _finish(
        self,
        job: str,
        actor: str,
        now: float,
        ok: bool,
        rid: str | None,
        exit_code: int | None,
        tail: str,
    ) -> None:
        status = JobRunStatus.OK if ok else JobRunStatus.FAILED
        if rid is not None:
            known = await self.store.get_job_run(rid)
            if known is None:
                # Healthchecks takes an end whose start it never saw: a run of its own.
                rid = None
            elif known.job == job and known.status is status:
                return  # an end sent again: already recorded
        message = "" if exit_code is None else f"exit {exit_code}"
        await self.store.job_finish(
            job,
            actor,
            now,
            ok=ok,
            run_id=rid,
            exit_code=None if ok else exit_code,
            message=message,
            output_tail=tail,
        )

    async def _unknown_job(self, job: str, signal: str, token: str, now: float) -> None:
        """The same warning event as `bridge job` raises for a job not in the config."""
        event = EventInput(
            source="jobs",
            resource=job[:200] or "(empty)",
            check="unknown-job",
            severity=Severity.WARNING,
            summary=f"'{signal[:20]}' signal for a job not in the config",
            at=now,
            detail=f"from the HTTP intake, token {token!r}",
        )
        await self.store.upsert_events([event], f"intake:{token}")

    # -- the events API ---------------------------------------------------------------
    async def _events(self, request: web.Request) -> web.StreamResponse:
        self._methods(request, "GET", "HEAD", "POST")
        token = self._bearer(request, "events")
        if request.method == "POST":
            return await self._post_events(request, token)
        return await self._list_events(request)

    async def _post_events(
        self, request: web.Request, token: IntakeTokenConfig
    ) -> web.StreamResponse:
        data = await self._json(request)
        items = data if isinstance(data, list) else [data]
        if not items:
            raise Refused(400, "bad-request", "an empty list: no events")
        if len(items) > MAX_BATCH:
            raise Refused(400, "bad-request", f"{len(items)} events; at most {MAX_BATCH}")
        now = self.clock.now()
        observations = []
        for i, item in enumerate(items):
            try:
                observations.append(self._observation(item, now))
            except Refused as refused:
                where = f"event {i}: " if isinstance(data, list) else ""
                raise Refused(400, "bad-request", where + refused.message) from None
        try:
            known = await self.events_commit.submit(observations)
        except BatchFailed:
            raise Refused(
                503, "store", "the events could not be stored (nothing of them was); retry"
            ) from None
        del token
        return web.json_response({"ids": [known.get("|".join(obs.key)) for obs in observations]})

    async def _commit_events(self, observations: list[Observation]) -> dict[str, int]:
        """One transaction for every request queued since the last one began; then
        the ids of all their events in one read (an event the rules held back, as
        while flapping, may have none: its request answers null for it)."""
        try:
            await self.runner.observe(observations)
        except Exception as exc:
            log.warning("intake: %d events not stored: %s", len(observations),
                        self.redact(str(exc)[:300]))  # fmt: skip
            await self._resync_rules(observations)
            raise
        if self.runner.on_write is not None:
            self.runner.on_write()
        try:
            return await self.store.event_ids(["|".join(obs.key) for obs in observations])
        except Exception as exc:  # stored all the same: the requests succeed, ids unknown
            log.warning("intake: the ids of %d stored events not read: %s", len(observations),
                        self.redact(str(exc)[:300]))  # fmt: skip
            return {}

    async def _resync_rules(self, observations: list[Observation]) -> None:
        """The rules took these observations before the store refused them: set their
        keys' rule state back to what the store holds, so that the same requests sent
        again (as a 503 asks) are taken again; a clear, above all, would otherwise be
        thought done and dropped."""
        try:
            keys = dict.fromkeys("|".join(obs.key) for obs in observations)
            stored = [event for key in keys if (event := await self.store.find_event(key))]
            self.runner.rules.restore(stored)
        except Exception as exc:
            log.warning("intake: rule state not read back: %s", self.redact(str(exc)[:300]))

    @staticmethod
    def _observation(item: Any, now: float) -> Observation:
        if not isinstance(item, dict):
            raise Refused(400, "bad-request", "an event is a JSON object")
        unknown = sorted(set(item) - {"source", "resource", "check", "severity", "summary",
                                      "detail", "evidence"})  # fmt: skip
        if unknown:
            raise Refused(400, "bad-request", f"unknown key {str(unknown[0])[:40]!r}")
        severity_text = item.get("severity")
        if not isinstance(severity_text, str):
            raise Refused(400, "bad-request", "'severity' must be a string")
        try:
            severity = Severity.parse(severity_text)
        except ValueError:
            raise Refused(
                400, "bad-request", "'severity' is ok, info, warning, minor, major or critical"
            ) from None
        evidence = item.get("evidence")
        if evidence is not None and not isinstance(evidence, dict):
            raise Refused(400, "bad-request", "'evidence' must be an object")
        return Observation(
            source=_text(item, "source", MAX_FIELD),
            resource=_text(item, "resource", MAX_FIELD),
            check=_text(item, "check", MAX_FIELD),
            severity=severity,
            summary=_text(item, "summary", MAX_SUMMARY, required=severity is not Severity.OK)
            or "cleared",
            at=now,
            detail=_text(item, "detail", MAX_DETAIL, required=False),
            evidence=evidence,
        )

    async def _list_events(self, request: web.Request) -> web.StreamResponse:
        from bridge.core.event_json import event_json
        from bridge.core.query import QueryError, parse_query

        try:
            query = parse_query(request.query.get("filter", ""))
        except QueryError as exc:
            raise Refused(400, "bad-request", f"filter: {exc}"[:300]) from None
        limit_text = request.query.get("limit", "500")
        if not limit_text.isdigit() or not 1 <= int(limit_text) <= 10_000:
            raise Refused(400, "bad-request", "limit is 1 to 10000")
        events = await self.store.list_events(
            include_resolved=request.query.get("all", "") in ("1", "true", "yes"),
            limit=int(limit_text),
            query=query,
            keep_unacked_resolved=self.config.events.keep_unacknowledged_resolved,
        )
        return web.json_response([event_json(e) for e in events])

    # -- Alertmanager's webhook -------------------------------------------------------
    async def _alertmanager(self, request: web.Request) -> web.StreamResponse:
        """Alertmanager's webhook (version 4): one event per alert, resolved clears.

        Alertmanager delivers at least once and sends a group's alerts again with
        each change: an alert already taken as it is (same fingerprint, status and
        start) is skipped, as is a firing alert whose event is open at its severity
        and a resolved one with nothing open to clear."""
        self._methods(request, "POST")
        self._bearer(request, "alertmanager")
        data = await self._json(request)
        if not isinstance(data, dict) or not isinstance(data.get("alerts"), list):
            raise Refused(400, "bad-request", "not an Alertmanager webhook: no 'alerts' list")
        alerts = data["alerts"]
        if len(alerts) > MAX_ALERTS:
            raise Refused(400, "bad-request", f"{len(alerts)} alerts; at most {MAX_ALERTS}")
        now = self.clock.now()
        taken: list[tuple[tuple[str, str, str], Observation]] = []
        for i, alert in enumerate(alerts):
            try:
                taken.append(self._alert(alert, now))
            except Refused as refused:
                raise Refused(400, "bad-request", f"alert {i}: {refused.message}") from None
        fresh: list[Observation] = []
        seen_now: list[tuple[str, str, str]] = []
        for seen, obs in taken:
            if seen in self._seen or seen in seen_now or not await self._news(obs):
                continue
            fresh.append(obs)
            seen_now.append(seen)
        if fresh:
            try:
                await self.runner.observe(fresh)
            except Exception as exc:
                log.warning("intake: %d alerts not stored: %s", len(fresh),
                            self.redact(str(exc)[:300]))  # fmt: skip
                await self._resync_rules(fresh)  # Alertmanager sends it again on a 5xx
                raise Refused(
                    503, "store", "the alerts could not be stored (nothing of them was); retry"
                ) from None
            if self.runner.on_write is not None:
                self.runner.on_write()
        for seen in seen_now:  # only once stored: a failed write is taken again on re-send
            self._seen[seen] = None
        while len(self._seen) > SEEN_ALERTS:
            self._seen.popitem(last=False)
        return web.json_response({"alerts": len(taken), "changed": len(fresh)})

    async def _news(self, obs: Observation) -> bool:
        event = await self.store.find_event("|".join(obs.key))
        is_open = event is not None and event.state is not EventState.RESOLVED
        if obs.severity is Severity.OK:
            return is_open
        return not (is_open and event is not None and event.severity is obs.severity)

    def _alert(self, alert: Any, now: float) -> tuple[tuple[str, str, str], Observation]:
        settings = self.settings.alertmanager
        if not isinstance(alert, dict):
            raise Refused(400, "bad-request", "an alert is a JSON object")
        status = alert.get("status")
        if status not in ("firing", "resolved"):
            raise Refused(400, "bad-request", "'status' is firing or resolved")
        labels = alert.get("labels")
        annotations = alert.get("annotations") or {}
        if not isinstance(labels, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise Refused(400, "bad-request", "'labels' must be an object of strings")
        if not isinstance(annotations, dict) or not all(
            isinstance(v, str) for v in annotations.values()
        ):
            raise Refused(400, "bad-request", "'annotations' must be an object of strings")
        name = labels.get("alertname", "").strip()
        if not name:
            raise Refused(400, "bad-request", "no 'alertname' label")
        resource = next(
            (labels[k].strip() for k in settings.resource_labels if labels.get(k, "").strip()),
            ALERTMANAGER,
        )
        fingerprint = alert.get("fingerprint", "")
        starts = alert.get("startsAt", "")
        url = alert.get("generatorURL", "")
        if not all(isinstance(v, str) for v in (fingerprint, starts, url)):
            raise Refused(400, "bad-request", "fingerprint, startsAt and generatorURL are strings")
        if status == "resolved":
            severity = Severity.OK
        else:
            label = labels.get("severity", "")
            severity = Severity.parse(settings.severity_map.get(label, settings.default_severity))
        summary = annotations.get("summary") or annotations.get("description") or name
        obs = Observation(
            source=ALERTMANAGER,
            resource=resource[:MAX_FIELD],
            check=name[:MAX_FIELD],
            severity=severity,
            summary=summary.strip()[:MAX_SUMMARY] or name[:MAX_FIELD],
            at=now,
            detail=annotations.get("description", "")[:MAX_DETAIL],
            evidence={
                "labels": labels,
                "annotations": annotations,
                "generatorURL": url,
                "fingerprint": fingerprint,
                "startsAt": starts,
            },
            flaps=False,
        )
        return (fingerprint or json.dumps(labels, sort_keys=True), status, starts), obs

    # -- the description of all this -------------------------------------------------
    async def _openapi(self, request: web.Request) -> web.StreamResponse:
        """No token: the document holds nothing secret, and a client reads it first."""
        self._methods(request, "GET", "HEAD")
        if self._openapi_body is None:
            from importlib.resources import files

            self._openapi_body = files("bridge.runtime").joinpath(OPENAPI_FILE).read_bytes()
        return web.Response(body=self._openapi_body, content_type="application/json")

    # -- health -----------------------------------------------------------------------
    async def _healthz(self, request: web.Request) -> web.StreamResponse:
        self._methods(request, "GET", "HEAD")
        store_ok = True
        last_cycle = None
        try:
            health = await self.store.collector_health()
            done = [h.last_success for h in health if h.last_success is not None]
            last_cycle = max(done) if done else None
        except Exception:
            store_ok = False
        lease = self.holds_lease()
        body = {"lease": lease, "store": store_ok, "last_cycle": last_cycle}
        return web.json_response(body, status=200 if lease and store_ok else 503)

    def where(self) -> str:
        """The URL base it listens on (no token in it)."""
        scheme = "https" if self.settings.tls_cert is not None else "http"
        return f"{scheme}://{self.address[0]}:{self.address[1]}" if self.address else "?"

    def stats_reading(self, now: float, rate: float) -> Reading:
        """The counters as the snapshot `intake/http` (bridge.runtime.intake_stats draws it)."""
        commit = self.events_commit
        detail = {
            "address": self.where(),
            "requests": self.stats.requests + self.stats.errors["malformed"],
            "rate": round(rate, 2),
            "errors": dict(self.stats.errors),
            "tokens": dict(self.stats.last_by_token),  # names only, never a token
            "event_commits": commit.commits,
            "event_requests": commit.requests,
        }
        return Reading(STATS_SOURCE, STATS_RESOURCE, now, detail=detail)

    def health(self, health: CollectorHealth, now: float) -> CollectorHealth:
        """This intake's counts as a collector's health record, which every console
        reads (the lease holder may be another process). The record has no field for
        the address and the refusals by kind, so its text carries them."""
        summary = self.stats.summary()
        text = self.where() + (f"; {summary}" if summary else "")
        return replace(
            health,
            last_run=now,
            last_success=now,
            runs=self.stats.requests + self.stats.errors["malformed"],
            errors=sum(self.stats.errors.values()),
            consecutive_failures=0,
            last_error=text[:300],
        )


async def run_intake(
    config: Config,
    store: Store,
    runner: CollectorRunner,
    clock: Clock,
    *,
    holds_lease: Callable[[], bool] = lambda: True,
    ready: Callable[[Intake], None] | None = None,
    every: float = HEALTH_EVERY_S,
) -> None:
    """Serve until cancelled, retrying the bind (a previous holder may still hold the
    port for a moment); `ready` is called with the intake once it listens. Every
    `every` seconds, when something changed, the counters go to the store."""
    intake = Intake(config, store, runner, clock, holds_lease=holds_lease)
    health = CollectorHealth(HEALTH_NAME, interval=HEALTH_EVERY_S)
    settings = config.intake
    while True:
        try:
            await intake.start()
            break
        except (OSError, ssl.SSLError) as exc:  # never take the poller down with the intake
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            where = f"{settings.address}:{settings.port}"
            log.warning("intake: cannot listen on %s: %s; retrying in %g s", where, reason,
                        RETRY_BIND_S)  # fmt: skip
            health = replace(
                health,
                last_run=clock.now(),
                errors=health.errors + 1,
                consecutive_failures=health.consecutive_failures + 1,
                last_error=f"cannot listen on {where}: {reason}"[:300],
            )
            await store.record_health(health)
            await asyncio.sleep(RETRY_BIND_S)
    log.info("intake: listening on %s", intake.address)
    try:
        health = intake.health(health, clock.now())
        await store.record_health(health)
        await store.write_reading(intake.stats_reading(clock.now(), 0.0), {})
        if ready is not None:
            ready(intake)
        seen, rate = 0, 0.0
        since = time.monotonic()
        while True:
            await asyncio.sleep(every)
            count = intake.stats.requests + intake.stats.errors["malformed"]
            if count == seen and rate == 0.0:
                continue  # one write per period, only when busy or just quiet again
            now_mono = time.monotonic()
            rate = (count - seen) / max(1e-3, now_mono - since)
            seen, since = count, now_mono
            try:
                health = intake.health(health, clock.now())
                await store.record_health(health)
                await store.write_reading(intake.stats_reading(clock.now(), rate), {})
            except Exception as exc:  # counters are not worth stopping the intake for
                log.warning("intake: counters not recorded: %s", exc)
    finally:
        with contextlib.suppress(Exception):
            await intake.close()
