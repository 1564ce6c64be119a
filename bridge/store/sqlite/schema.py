"""Schema migrations, applied forward in order at open. Never edit a released step: add one."""

from __future__ import annotations

from bridge.store.rows import STATE_RANK

__all__ = ["MIGRATIONS", "SCHEMA_VERSION"]


MIGRATIONS: list[str] = [
    # 1: the first schema.
    """
    CREATE TABLE changes (
        seq   INTEGER PRIMARY KEY AUTOINCREMENT,
        at    REAL NOT NULL,
        kind  TEXT NOT NULL,
        ref   TEXT NOT NULL DEFAULT ''
    );
    CREATE TABLE events (
        id            INTEGER PRIMARY KEY,
        dedup_key     TEXT NOT NULL UNIQUE,
        source        TEXT NOT NULL,
        resource      TEXT NOT NULL,
        check_name    TEXT NOT NULL,
        severity      INTEGER NOT NULL,
        state         TEXT NOT NULL,
        summary       TEXT NOT NULL,
        detail        TEXT NOT NULL DEFAULT '',
        count         INTEGER NOT NULL DEFAULT 1,
        first_seen    REAL NOT NULL,
        last_seen     REAL NOT NULL,
        value         REAL,
        owner         TEXT,
        acked_by      TEXT,
        acked_at      REAL,
        resolved_at   REAL,
        shelved_until REAL,
        evidence      TEXT,
        seq           INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_state ON events(state, severity DESC, last_seen DESC);
    CREATE INDEX events_seq ON events(seq);
    CREATE TABLE journal (
        id        INTEGER PRIMARY KEY,
        event_id  INTEGER REFERENCES events(id),
        at        REAL NOT NULL,
        actor     TEXT NOT NULL,
        action    TEXT NOT NULL,
        note      TEXT NOT NULL DEFAULT '',
        data      TEXT
    );
    CREATE INDEX journal_event ON journal(event_id, at);
    CREATE TABLE samples (
        source    TEXT NOT NULL,
        resource  TEXT NOT NULL,
        metric    TEXT NOT NULL,
        at        REAL NOT NULL,
        value     REAL NOT NULL
    );
    CREATE INDEX samples_series ON samples(source, resource, metric, at);
    CREATE INDEX samples_at ON samples(at);
    CREATE TABLE snapshots (
        source    TEXT NOT NULL,
        resource  TEXT NOT NULL,
        at        REAL NOT NULL,
        data      TEXT NOT NULL,
        levels    TEXT NOT NULL DEFAULT '{}',
        PRIMARY KEY (source, resource)
    );
    CREATE TABLE collector_health (
        name                 TEXT PRIMARY KEY,
        interval             REAL NOT NULL,
        last_run             REAL,
        last_success         REAL,
        latency_ms           REAL,
        runs                 INTEGER NOT NULL DEFAULT 0,
        errors               INTEGER NOT NULL DEFAULT 0,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        last_error           TEXT
    );
    CREATE TABLE job_runs (
        id          INTEGER PRIMARY KEY,
        job         TEXT NOT NULL,
        run_id      TEXT NOT NULL UNIQUE,
        started_at  REAL,
        ended_at    REAL,
        exit_code   INTEGER,
        status      TEXT NOT NULL,
        output_tail TEXT,
        actor       TEXT
    );
    CREATE INDEX job_runs_job ON job_runs(job, started_at);
    CREATE TABLE schedule_changes (
        id          INTEGER PRIMARY KEY,
        job         TEXT NOT NULL,
        occurrence  REAL NOT NULL,
        action      TEXT NOT NULL,
        new_time    REAL,
        actor       TEXT NOT NULL,
        reason      TEXT NOT NULL,
        at          REAL NOT NULL
    );
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        target          TEXT NOT NULL,
        rule            TEXT NOT NULL,
        event_id        INTEGER NOT NULL,
        payload         TEXT NOT NULL,
        status          TEXT NOT NULL DEFAULT 'pending',
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at REAL NOT NULL,
        created_at      REAL NOT NULL,
        delivered_at    REAL,
        last_error      TEXT,
        UNIQUE (target, rule, event_id)
    );
    CREATE TABLE leases (
        name         TEXT PRIMARY KEY,
        holder       TEXT NOT NULL,
        host         TEXT NOT NULL,
        pid          INTEGER NOT NULL,
        acquired_at  REAL NOT NULL,
        heartbeat_at REAL NOT NULL,
        expires_at   REAL NOT NULL
    );
    """,
    # 2: when an event was last raised or re-opened, so consoles can highlight it.
    """
    ALTER TABLE events ADD COLUMN opened_at REAL;
    UPDATE events SET opened_at = first_seen;
    CREATE INDEX events_history ON events(last_seen DESC);
    """,
    # 3: the console's order as an index, so a window of a large history is read
    # in index order and stops at LIMIT instead of sorting every event.
    f"""
    CREATE INDEX events_console_order ON events({STATE_RANK}, severity DESC, last_seen DESC);
    """,
    # 4: job signals carry a message and a measured duration; schedule changes are
    # read per job and occurrence; the latest run per job is read by index.
    """
    ALTER TABLE job_runs ADD COLUMN message TEXT NOT NULL DEFAULT '';
    ALTER TABLE job_runs ADD COLUMN duration REAL;
    ALTER TABLE job_runs ADD COLUMN at REAL;
    UPDATE job_runs SET at = COALESCE(started_at, ended_at, 0);
    CREATE INDEX job_runs_at ON job_runs(job, at);
    CREATE INDEX job_runs_running ON job_runs(job, status);
    CREATE INDEX schedule_changes_job ON schedule_changes(job, occurrence);
    CREATE INDEX schedule_changes_at ON schedule_changes(at);
    """,
    # 5: the schedule engine's job statuses, for every console to read; open
    # maintenance windows; events raised inside one are marked suppressed.
    """
    CREATE TABLE job_status (
        job       TEXT PRIMARY KEY,
        state     TEXT NOT NULL,
        exception INTEGER NOT NULL DEFAULT 0,
        at        REAL NOT NULL,
        first_at  REAL NOT NULL,
        data      TEXT NOT NULL DEFAULT '{}',
        seq       INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX job_status_seq ON job_status(seq);
    CREATE TABLE maintenance_windows (
        name   TEXT PRIMARY KEY,
        hosts  TEXT NOT NULL,
        start  REAL NOT NULL,
        end    REAL,
        source TEXT NOT NULL
    );
    ALTER TABLE events ADD COLUMN suppressed_by TEXT;
    """,
    # 6: reports read the journal by time; the outbox sender reads due items by status.
    """
    CREATE INDEX journal_at ON journal(at);
    CREATE INDEX outbox_due ON outbox(status, next_attempt_at);
    """,
    # 7: collector self-health tells timeouts apart and shows the current backoff.
    """
    ALTER TABLE collector_health ADD COLUMN timeouts INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE collector_health ADD COLUMN backoff REAL NOT NULL DEFAULT 1;
    """,
    # 8: when each collector first ran, so availability counts only monitored time.
    # Rows from before are taken as monitored all along (0), as reports counted them.
    """
    ALTER TABLE collector_health ADD COLUMN first_run REAL;
    UPDATE collector_health SET first_run = 0;
    """,
    # 9: the severity an operator set (escalate): the rules may raise an event past
    # it, never lower it, until the event resolves.
    """
    ALTER TABLE events ADD COLUMN operator_severity INTEGER;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
