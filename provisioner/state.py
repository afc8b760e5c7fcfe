"""The state database: every run and every site's result in it, in one SQLite file.

Each write is its own transaction in WAL mode, so a run interrupted at any
moment (Ctrl-C, the controller killed) leaves the database consistent: what
was recorded stays, a run still marked ``running`` whose process is gone is
seen as ``interrupted``, and :meth:`State.pending` says which sites a resume
must still converge.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from provisioner import paths
from provisioner.errors import StateError
from provisioner.health.evaluate import SiteCheck

SCHEMA_VERSION = 4  # 2: check_results; 3: health_checks; 4: site_starts
FINISHED = ("ok", "changed")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL DEFAULT 'running',
    pid         INTEGER NOT NULL,
    who         TEXT NOT NULL,
    args        TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS site_results (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    site        TEXT NOT NULL,
    wave        TEXT NOT NULL DEFAULT '',
    attempt     INTEGER NOT NULL DEFAULT 1,
    status      TEXT NOT NULL CHECK (status IN ('ok', 'changed', 'failed', 'unreachable')),
    changed     INTEGER NOT NULL DEFAULT 0,
    failed_task TEXT,
    message     TEXT,
    at          TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS enrolments (
    site         TEXT NOT NULL,
    fingerprints TEXT NOT NULL,
    keys_changed INTEGER NOT NULL,
    who          TEXT NOT NULL,
    run_id       TEXT NOT NULL REFERENCES runs(id),
    at           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS check_results (
    run_id        TEXT NOT NULL REFERENCES runs(id),
    site          TEXT NOT NULL,
    passed        INTEGER NOT NULL,
    failed        INTEGER NOT NULL,
    skipped       INTEGER NOT NULL,
    failed_checks TEXT NOT NULL DEFAULT '[]',
    at            TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS health_checks (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    site        TEXT NOT NULL,
    reachable   INTEGER NOT NULL,
    classes     TEXT NOT NULL DEFAULT '{}',
    drift       TEXT NOT NULL DEFAULT '[]',
    error       TEXT NOT NULL DEFAULT '',
    facts       TEXT NOT NULL DEFAULT '{}',
    at          TEXT NOT NULL
);
-- a converge of a site begins: one without a result after it in its run never finished
CREATE TABLE IF NOT EXISTS site_starts (
    run_id      TEXT NOT NULL REFERENCES runs(id),
    site        TEXT NOT NULL,
    at          TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS site_starts_by_site ON site_starts (site, at);
CREATE INDEX IF NOT EXISTS health_checks_by_site ON health_checks (site, at);
CREATE INDEX IF NOT EXISTS health_checks_by_run ON health_checks (run_id);
CREATE INDEX IF NOT EXISTS check_results_by_site ON check_results (site, at);
CREATE INDEX IF NOT EXISTS site_results_by_site ON site_results (site, at);
CREATE INDEX IF NOT EXISTS site_results_by_run ON site_results (run_id, site);
"""


def now() -> str:
    """The current time, as stored: ISO 8601 in UTC, to the millisecond."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def default_path() -> Path:
    return paths.state_dir() / "provisioner.sqlite"


@dataclass(frozen=True)
class Run:
    id: str
    kind: str
    started_at: str
    finished_at: str | None
    status: str
    who: str
    args: dict[str, Any]


class Result(Protocol):
    """What a site's result from a converge carries (the runner's SiteResult, the rollout's Outcome)."""

    @property
    def status(self) -> str: ...
    @property
    def changed(self) -> int: ...
    @property
    def failed_task(self) -> str | None: ...
    @property
    def message(self) -> str | None: ...


def reason(result: Result) -> str:
    """Why a site's converge went wrong, in one line: the failing task and its message (empty when all went well)."""
    if result.failed_task:
        return f"{result.failed_task}: {result.message}"
    return result.message or ""


@dataclass(frozen=True)
class SiteRecord:
    """One site's result in one run (one attempt)."""

    run_id: str
    site: str
    status: str
    changed: int = 0
    failed_task: str | None = None
    message: str | None = None
    wave: str = ""
    attempt: int = 1
    at: str = ""

    @classmethod
    def of(cls, run_id: str, site: str, result: Result, *, wave: str = "", attempt: int = 1) -> SiteRecord:
        """A converge's result for ``site``, as recorded under ``run_id``."""
        return cls(run_id, site, result.status, result.changed, result.failed_task, result.message, wave, attempt)


@dataclass(frozen=True)
class CheckRecord:
    """One site's site checks in one ``verify`` run."""

    run_id: str
    site: str
    passed: int
    failed_checks: tuple[str, ...] = ()
    skipped: int = 0
    at: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed_checks


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class State:
    """The state database at ``path`` (created on first use)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StateError(
                    f"the state database {self.path} is from a newer provisioner (schema {version})",
                    hint="upgrade provisioner, or point PROVISIONER_STATE_DIR elsewhere",
                )
            # executescript commits by itself; every statement in the schema is idempotent
            self._db.executescript(_SCHEMA)
            self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"the state database {self.path} cannot be used: {exc}",
                hint="check the file (sqlite3 FILE 'PRAGMA integrity_check'); move it aside to start a new one",
            ) from exc

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # Runs ---------------------------------------------------------------

    def begin_run(self, kind: str, args: dict[str, Any] | None = None, who: str | None = None) -> str:
        """Record a run starting now; return its id."""
        run_id = datetime.now(UTC).strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (id, kind, started_at, pid, who, args) VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, kind, now(), os.getpid(), who or _who(), json.dumps(args or {}, ensure_ascii=False, sort_keys=True)),
            )
        return run_id

    def reopen_run(self, run_id: str) -> Run:
        """Take over an unfinished run (to resume it) from this process."""
        run = self.run(run_id)
        if run.status == "running" and not self._interrupted(run_id):
            raise StateError(f"run {run_id} is still running", hint="wait for it to end, or stop its process first")
        with self._transaction() as db:
            db.execute("UPDATE runs SET status='running', finished_at=NULL, pid=? WHERE id=?", (os.getpid(), run_id))
        return self.run(run_id)

    def finish_run(self, run_id: str, status: str) -> None:
        with self._transaction() as db:
            db.execute("UPDATE runs SET status=?, finished_at=? WHERE id=?", (status, now(), run_id))

    @contextmanager
    def running(self, run_id: str) -> Iterator[str]:
        """Mark ``run_id`` interrupted if the block is left by an exception (Ctrl-C included); re-raise it."""
        try:
            yield run_id
        except BaseException:
            self.finish_run(run_id, "interrupted")
            raise

    def _interrupted(self, run_id: str) -> bool:
        row = self._db.execute("SELECT status, pid FROM runs WHERE id=?", (run_id,)).fetchone()
        return bool(row) and row["status"] == "running" and not _alive(int(row["pid"]))

    def run(self, run_id: str) -> Run:
        row = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,)).fetchone()
        if row is None:
            raise StateError(f"no run {run_id!r} in {self.path}", hint="list runs with: provisioner status --runs")
        return self._run(row)

    def runs(self, limit: int = 20) -> list[Run]:
        rows = self._db.execute("SELECT * FROM runs ORDER BY started_at DESC, id DESC LIMIT ?", (limit,)).fetchall()
        return [self._run(r) for r in rows]

    def _run(self, row: sqlite3.Row) -> Run:
        status = "interrupted" if row["status"] == "running" and not _alive(int(row["pid"])) else row["status"]
        return Run(row["id"], row["kind"], row["started_at"], row["finished_at"], status, row["who"], json.loads(row["args"]))

    # Site results ---------------------------------------------------------

    def record(self, records: Iterable[SiteRecord]) -> None:
        """Record site results, all in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO site_results (run_id, site, wave, attempt, status, changed, failed_task, message, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.run_id, r.site, r.wave, r.attempt, r.status, r.changed, r.failed_task, r.message, r.at or now())
                    for r in records
                ],
            )

    def started(self, run_id: str, sites: Sequence[str]) -> None:
        """Mark the converge of ``sites`` begun in a run (their results, when they come, close it)."""
        at = now()
        with self._transaction() as db:
            db.executemany("INSERT INTO site_starts (run_id, site, at) VALUES (?, ?, ?)", [(run_id, s, at) for s in sites])

    def unfinished(self, sites: Sequence[str]) -> list[str]:
        """The ``sites`` whose latest converge began and never gave a result (the controller was killed, the run abandoned)."""
        rows = self._db.execute(
            "SELECT DISTINCT s.site FROM site_starts AS s"
            " WHERE s.rowid = (SELECT rowid FROM site_starts WHERE site = s.site ORDER BY at DESC, rowid DESC LIMIT 1)"
            " AND NOT EXISTS (SELECT 1 FROM site_results AS r WHERE r.run_id = s.run_id AND r.site = s.site AND r.at >= s.at)"
        ).fetchall()
        found = {r["site"] for r in rows}
        return [s for s in sites if s in found]

    def results(self, run_id: str) -> dict[str, SiteRecord]:
        """Each site's latest result in a run."""
        rows = self._db.execute("SELECT * FROM site_results WHERE run_id=? ORDER BY at, rowid", (run_id,)).fetchall()
        return {r["site"]: self._record(r) for r in rows}

    def pending(self, run_id: str, sites: Sequence[str]) -> list[str]:
        """The ``sites`` that have not yet succeeded in a run (what a resume converges)."""
        done = {s for s, r in self.results(run_id).items() if r.status in FINISHED}
        return [s for s in sites if s not in done]

    def _latest(self, table: str, sites: Sequence[str] | None) -> list[sqlite3.Row]:
        """Each site's most recent row of ``table`` (site_results, check_results, health_checks), over all runs, by site."""
        rows = self._db.execute(
            f"SELECT * FROM {table} AS t WHERE rowid ="  # noqa: S608 - the table is one of ours, never input
            f" (SELECT rowid FROM {table} WHERE site = t.site ORDER BY at DESC, rowid DESC LIMIT 1) ORDER BY site"
        ).fetchall()
        return rows if sites is None else [r for r in rows if r["site"] in sites]

    def last_results(self, sites: Sequence[str] | None = None) -> dict[str, SiteRecord]:
        """Each site's most recent result, over all runs."""
        return {r["site"]: self._record(r) for r in self._latest("site_results", sites)}

    @staticmethod
    def _record(row: sqlite3.Row) -> SiteRecord:
        return SiteRecord(
            run_id=row["run_id"],
            site=row["site"],
            status=row["status"],
            changed=row["changed"],
            failed_task=row["failed_task"],
            message=row["message"],
            wave=row["wave"],
            attempt=row["attempt"],
            at=row["at"],
        )

    # Site checks ------------------------------------------------------------

    def record_checks(self, records: Iterable[CheckRecord]) -> None:
        """Record sites' check results, all in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO check_results (run_id, site, passed, failed, skipped, failed_checks, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        r.run_id,
                        r.site,
                        r.passed,
                        len(r.failed_checks),
                        r.skipped,
                        json.dumps(list(r.failed_checks), ensure_ascii=False),
                        r.at or now(),
                    )
                    for r in records
                ],
            )

    def last_checks(self, sites: Sequence[str] | None = None) -> dict[str, CheckRecord]:
        """Each site's most recent check results, over all runs."""
        return {
            r["site"]: CheckRecord(
                r["run_id"], r["site"], r["passed"], tuple(json.loads(r["failed_checks"])), r["skipped"], r["at"]
            )
            for r in self._latest("check_results", sites)
        }

    # Readiness checks ---------------------------------------------------------

    def record_health(self, run_id: str, checks: Iterable[SiteCheck]) -> None:
        """Record sites' readiness checks, all in one transaction."""
        with self._transaction() as db:
            db.executemany(
                "INSERT INTO health_checks (run_id, site, reachable, classes, drift, error, facts, at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, *c.to_row(), c.at or now()) for c in checks],
            )

    def health(
        self, *, run_id: str | None = None, since: str = "", until: str = "9999", sites: Sequence[str] | None = None
    ) -> list[SiteCheck]:
        """Readiness checks of one run, or of every run between ``since`` and ``until`` (ISO times), in time order."""
        if run_id is not None:
            rows = self._db.execute("SELECT * FROM health_checks WHERE run_id=? ORDER BY at, rowid", (run_id,)).fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM health_checks WHERE at >= ? AND at < ? ORDER BY at, rowid", (since, until)
            ).fetchall()
        wanted = None if sites is None else set(sites)
        return [SiteCheck.from_row(dict(r)) for r in rows if wanted is None or r["site"] in wanted]

    def last_health(self, sites: Sequence[str] | None = None) -> dict[str, SiteCheck]:
        """Each site's most recent readiness check, over all runs."""
        return {r["site"]: SiteCheck.from_row(dict(r)) for r in self._latest("health_checks", sites)}

    def last_run(self, kind: str) -> Run | None:
        """The latest run of a kind (check, rollout...), or None."""
        row = self._db.execute("SELECT * FROM runs WHERE kind=? ORDER BY started_at DESC, id DESC LIMIT 1", (kind,)).fetchone()
        return self._run(row) if row else None

    # Enrolments --------------------------------------------------------------

    def enrol(self, run_id: str, site: str, fingerprints: Sequence[str], *, keys_changed: bool) -> None:
        """Record who (re-)enrolled a site, with which host keys, in which run."""
        with self._transaction() as db:
            db.execute(
                "INSERT INTO enrolments (site, fingerprints, keys_changed, who, run_id, at) VALUES (?, ?, ?, ?, ?, ?)",
                (site, json.dumps(list(fingerprints)), int(keys_changed), self.run(run_id).who, run_id, now()),
            )

    def enrolments(self, site: str) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM enrolments WHERE site=? ORDER BY at, rowid", (site,)).fetchall()
        return [{**dict(r), "fingerprints": json.loads(r["fingerprints"]), "keys_changed": bool(r["keys_changed"])} for r in rows]

    def integrity(self) -> str:
        """SQLite's own verdict on the file (``ok`` when sound)."""
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _who() -> str:
    """Who is running provisioner: the login name, and the sudo user behind it."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())
    sudo = os.environ.get("SUDO_USER")
    return f"{sudo} (as {user})" if sudo and sudo != user else user
