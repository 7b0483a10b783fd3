"""The policy store: an SQLite file holding an append-only, hash-chained audit log of policy changes.

Every change (``set`` a rule, ``revoke`` one) is one row of ``audit``: who, when (recorded_at, UTC),
what (the rule as canonical JSON), why (reason), the previous state of that subject at the rule's
start, and two hashes. ``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of
the entry's fields *including* ``prev_hash``, the hash of the entry before it (64 zeros for the first).
Editing, deleting or reordering rows therefore breaks the chain, and :meth:`PolicyStore.verify` names
the first broken entry. A ``chain_head`` row (sequence number and hash of the last entry, updated in
the same transaction) also catches deletion of the newest entries; the head row exists from the
store's creation, so a missing head is tampering too. Every ``set`` entry creates the rule of its own
number and every ``revoke`` must withdraw a rule set before it, so an entry with no rule (or a rule
with no entry) is a break. Limitation: someone with write access who rewrites entries, recomputes
every later hash and updates the head consistently is not detected by the store alone — keep the head
(``leosim policy head``) somewhere else and check it with ``leosim policy verify --expect-head``.

The rules are never stored apart from the log: :meth:`PolicyStore.rules` replays the log, optionally
only up to a recording instant (``as_of``), so the policy as known at any past moment can be rebuilt
("time travel"); :meth:`PolicyStore.rules_at` gives the rules in force at an instant.

Writes run inside ``BEGIN IMMEDIATE`` transactions, so two processes writing at once serialise and
lose nothing (the second waits up to :data:`BUSY_TIMEOUT_S`, then gets "policy store is busy"). The
store runs in SQLite's WAL mode, and reads (``read_only=True``) open the file read-only, so readers
never wait for a writer. The schema is versioned (``schema_version``) and upgraded by the migrations
in :data:`MIGRATIONS` when a store is opened for writing and its schema is behind (only then is the
write lock taken). A damaged or foreign file gives :class:`~leosim.errors.LeosimStoreError` naming it.

Default location: ``--db`` on the command line, else ``$LEOSIM_DB``, else
``platformdirs.user_data_path("leosim") / "policy.sqlite"``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import sqlite3
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError, LeosimStoreBusy, LeosimStoreError
from ..timebase import parse_utc
from .rules import DEFAULT_STATE, Rule, check_rules, evaluate, rules_from_config

GENESIS_HASH = "0" * 64
#: Seconds a writer waits for another process's write transaction before giving up with "policy store is
#: busy" (:class:`~leosim.errors.LeosimStoreBusy`). Readers do not wait for writers at all (WAL mode).
BUSY_TIMEOUT_S = 5.0
#: Files SQLite keeps beside a store in WAL mode (removed with a store that could not be created).
_SIDE_FILES = ("-wal", "-shm", "-journal")
#: Actions an audit entry may record.
ACTIONS = ("set", "revoke")

MIGRATIONS: tuple[str, ...] = (
    # 1: the audit log.
    """
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        recorded_at TEXT NOT NULL,
        author TEXT NOT NULL,
        action TEXT NOT NULL,
        rule_id INTEGER NOT NULL,
        rule TEXT NOT NULL,
        reason TEXT NOT NULL,
        previous TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    """,
    # 2: the chain head (catches truncation of the newest entries) and an index for rule look-ups.
    f"""
    CREATE TABLE chain_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL,
                             hash TEXT NOT NULL);
    INSERT INTO chain_head (id, seq, hash)
        SELECT 1, COALESCE(MAX(seq), 0),
               COALESCE((SELECT hash FROM audit ORDER BY seq DESC LIMIT 1), '{GENESIS_HASH}') FROM audit;
    CREATE INDEX audit_rule_id ON audit (rule_id);
    """,
    # 3: API tokens of `leosim serve`, stored only as SHA-256 hashes (see leosim.policy.tokens).
    """
    CREATE TABLE api_tokens (id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
                             token_sha256 TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL, revoked_at TEXT);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)
#: The table each migration creates (a store at version v has the first v).
_TABLES = ("audit", "chain_head", "api_tokens")

_ENTRY_FIELDS = ("seq", "recorded_at", "author", "action", "rule_id", "rule", "reason", "previous",
                 "prev_hash")


def default_db_path() -> Path:
    """``$LEOSIM_DB`` if set, else the per-user data directory's ``policy.sqlite``."""
    env = os.environ.get("LEOSIM_DB")
    if env:
        return Path(env)
    import platformdirs

    return platformdirs.user_data_path("leosim") / "policy.sqlite"


def _iso(value) -> str | None:
    if value is None:
        return None
    return np.datetime_as_string(np.datetime64(value, "ns"), unit="ns") + "Z"


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(entry: dict) -> str:
    """SHA-256 (hex) over the canonical JSON of an entry's fields, ``prev_hash`` included."""
    return hashlib.sha256(canonical_json({k: entry[k] for k in _ENTRY_FIELDS}).encode("utf-8")).hexdigest()


def rule_to_json(rule: Rule) -> str:
    """The rule as canonical JSON; a rule with a condition adds ``when`` (its set keys) and one with sources
    adds ``url``/``source``, so the JSON and hashes of plain rules are what they were before (no schema
    change)."""
    value = {"subject": rule.subject, "state": rule.state, "from": _iso(rule.valid_from),
             "until": _iso(rule.valid_until), "allow": list(rule.allow), "decided_at": _iso(rule.decided_at),
             **_rule_sources(rule)}
    if rule.when is not None:
        value["when"] = rule.when.as_dict()
    return canonical_json(value)


# Sources of a rule (url, source): stored in the rule's JSON only when given, so no table changes (no
# migration) and the entries written before these fields existed keep their bytes and hashes.
def _rule_sources(rule: Rule) -> dict:
    return {key: value for key, value in (("url", rule.url), ("source", rule.source)) if value}


@dataclass(frozen=True)
class AuditEntry:
    """One row of the audit log (``rule`` and ``previous`` as parsed JSON)."""

    seq: int
    recorded_at: str
    author: str
    action: str
    rule_id: int
    rule: dict
    reason: str
    previous: dict
    prev_hash: str
    hash: str

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in (*_ENTRY_FIELDS, "hash")}


@dataclass(frozen=True)
class BrokenEntry:
    """Where the chain breaks: the sequence number of the first bad entry and what is wrong."""

    seq: int | None
    reason: str

    def __str__(self) -> str:
        return self.reason if self.seq is None else f"entry #{self.seq}: {self.reason}"


def store_error(error: BaseException, path) -> LeosimStoreError:
    """The :class:`LeosimStoreError` (or :class:`LeosimStoreBusy`) that an SQLite error on the store at
    ``path`` stands for: busy, cannot write (full disk, read-only file) or damaged / not a policy store."""
    text = str(error)
    lowered = text.lower()
    if "locked" in lowered or "busy" in lowered:
        return LeosimStoreBusy(f"policy store is busy: another process held its write lock for over "
                               f"{BUSY_TIMEOUT_S:g} s; try again ({text})", source=str(path))
    if any(word in lowered for word in ("full", "disk i/o", "readonly", "read-only", "unable to open")):
        if _disk_full(path):  # SQLite reports ENOSPC in WAL mode as a mere "disk I/O error": say what it is
            text = f"no space left on the device ({text})"
        return LeosimStoreError(f"cannot use the policy store: {text}", source=str(path))
    return LeosimStoreError(f"damaged or not a leosim policy store ({text})", source=str(path))


#: Free space under which a failed write is reported as a full disk, bytes (a page or two of SQLite).
_FULL_DISK_BYTES = 64 * 1024


def _disk_full(path) -> bool:
    try:
        return shutil.disk_usage(Path(path).resolve().parent).free < _FULL_DISK_BYTES
    except OSError:
        return False


def _store_errors(method):
    """Turn SQLite errors (and unreadable rows) inside a store method into one :class:`LeosimStoreError`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as error:
            raise store_error(error, self.path) from None
        except (json.JSONDecodeError, KeyError) as error:
            raise LeosimStoreError(f"damaged policy store: an audit entry cannot be read ({error!r}); "
                                   "`leosim policy verify` names it", source=str(self.path)) from None
    return wrapper


class PolicyStore:
    """A policy store in an SQLite file (created and migrated on open). Use as a context manager.

    ``read_only=True`` opens an existing store without taking any lock (reads never wait for a writer);
    ``must_exist=True`` refuses a path with no store rather than creating an empty one.
    """

    def __init__(self, path=None, *, must_exist: bool = False, read_only: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        memory = str(self.path) == ":memory:"
        if must_exist and not memory and not self.path.is_file():
            raise LeosimInputError("no such policy store (a store is created by `leosim policy set`, or give "
                                   "--db / LEOSIM_DB the path of an existing one)", source=str(self.path))
        created = not memory and not self.path.exists()
        self._db = None
        try:
            if not memory:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            if read_only and not created and not memory:
                self._db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True,
                                           timeout=BUSY_TIMEOUT_S, isolation_level=None)
                version = self._read_version()
                if version == SCHEMA_VERSION:
                    return
                if version == 0:  # an empty file is not a store; reading must not turn it into one
                    raise LeosimStoreError("empty file, not a policy store (a store is created by `leosim "
                                           "policy set`)", source=str(self.path))
                self._db.close()  # schema behind: open for writing once to migrate
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            if not memory and self._db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                self._db.execute("PRAGMA journal_mode = WAL")  # persistent: readers never wait for writers
            self._migrate()
        except BaseException as error:
            if self._db is not None:
                self._db.close()
            if created:  # a store that could not be made leaves nothing behind (no 0-byte file)
                for suffix in ("", *_SIDE_FILES):
                    Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            if isinstance(error, sqlite3.DatabaseError):
                raise store_error(error, self.path) from None
            if isinstance(error, OSError):
                raise LeosimStoreError(f"cannot create the policy store: {error.strerror or error}",
                                       source=str(self.path)) from None
            raise

    def __enter__(self) -> PolicyStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    # ----- schema ---------------------------------------------------------------------------------
    def _read_version(self) -> int:
        """The schema version (0 for an empty file); a file with other tables is not a policy store."""
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "schema_version" not in tables:
            if tables:
                raise LeosimStoreError(f"not a leosim policy store: it holds tables {', '.join(sorted(tables)[:5])} "
                                       "but no schema_version", source=str(self.path))
            return 0
        row = self._db.execute("SELECT version FROM schema_version").fetchone()
        version = row[0] if row else 0
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise LeosimStoreError(f"store has schema version {version!r}, newer than this leosim "
                                   f"({SCHEMA_VERSION}); upgrade leosim", source=str(self.path))
        missing = [table for table in _TABLES[:version] if table not in tables]
        if missing:
            raise LeosimStoreError(f"damaged policy store: table {', '.join(missing)} missing (dropped) although "
                                   f"the schema is at version {version}", source=str(self.path))
        return version

    def _rollback(self) -> None:
        """Roll back if a transaction is still open (SQLite ends one by itself on some errors, e.g. a full
        disk; rolling back again would hide the real error behind "no transaction is active")."""
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def _migrate(self) -> None:
        db = self._db
        if self._read_version() == SCHEMA_VERSION:
            return  # up to date: no write lock taken
        db.execute("BEGIN IMMEDIATE")
        try:
            version = self._read_version()  # again under the lock: another process may have migrated
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            if db.execute("SELECT version FROM schema_version").fetchone() is None:
                db.execute("INSERT INTO schema_version (version) VALUES (0)")
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (number + 1,))
            db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise

    @property
    @_store_errors
    def schema_version(self) -> int:
        return self._db.execute("SELECT version FROM schema_version").fetchone()[0]

    # ----- writing --------------------------------------------------------------------------------
    def set(self, rule: Rule, *, by: str, reason: str) -> AuditEntry:
        """Record a new rule decided by ``by`` for ``reason``; returns its audit entry (rule_id = seq)."""
        return self.record([rule], by=by, reason=reason)[0]

    @_store_errors
    def record(self, rules, *, by: str, reason: str | None = None) -> list[AuditEntry]:
        """Record several rules in one transaction (all or nothing). ``reason`` overrides each rule's
        own ``reason`` when given."""
        _check_text(by, "by")
        entries = []
        self._db.execute("BEGIN IMMEDIATE")
        try:
            known = self._replay(self._rows())
            for rule in rules:
                why = reason if reason is not None else rule.reason
                _check_text(why, "reason")
                entry = self._append("set", rule, by=by, reason=why, known=known)
                known[entry.rule_id] = self._rule_from_entry(entry)
                entries.append(entry)
            check_rules(list(known.values()))  # contradictions are reported, and nothing is recorded
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return entries

    @_store_errors
    def revoke(self, rule_id: int, *, by: str, reason: str) -> AuditEntry:
        """Withdraw a rule (it stops counting from now on in the log; history keeps it)."""
        _check_text(by, "by")
        _check_text(reason, "reason")
        self._db.execute("BEGIN IMMEDIATE")
        try:
            known = self._replay(self._rows())
            if rule_id not in known:
                raise LeosimInputError(f"no rule #{rule_id} in force to revoke; rules: "
                                       f"{sorted(known) or 'none'}", field="rule_id")
            entry = self._append("revoke", known[rule_id], by=by, reason=reason, known=known,
                                 rule_id=rule_id)
            self._db.execute("COMMIT")
        except BaseException:
            self._rollback()
            raise
        return entry

    def _append(self, action, rule, *, by, reason, known, rule_id=None) -> AuditEntry:
        last = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        previous = _previous_state(rule, known.values())
        entry = {"seq": seq, "recorded_at": _iso(parse_utc("now")), "author": by, "action": action,
                 "rule_id": rule_id if rule_id is not None else seq, "rule": rule_to_json(rule),
                 "reason": reason, "previous": canonical_json(previous), "prev_hash": prev_hash}
        entry["hash"] = entry_hash(entry)
        self._db.execute(f"INSERT INTO audit ({', '.join(entry)}) VALUES ({', '.join('?' * len(entry))})",
                         tuple(entry.values()))
        self._db.execute("INSERT OR REPLACE INTO chain_head (id, seq, hash) VALUES (1, ?, ?)",
                         (seq, entry["hash"]))
        return _entry_from_row(tuple(entry[k] for k in (*_ENTRY_FIELDS, "hash")))

    def load_policy(self, section, *, by: str, source: str = "policy") -> list[AuditEntry]:
        """Record the rules of a parsed ``[policy]`` section as changes by ``by`` (one transaction)."""
        rules = [r if r.reason else replace(r, reason=f"loaded from {source}")
                 for r in rules_from_config(section, source=source)]
        return self.record(rules, by=by)

    def load_toml(self, path, *, by: str) -> list[AuditEntry]:
        """Record the ``[policy]`` section of a TOML file as changes by ``by``."""
        path = Path(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as error:
            raise LeosimInputError(f"not valid TOML: {error}", source=str(path)) from None
        if "policy" not in data:
            raise LeosimInputError("no [policy] section", source=str(path), field="policy")
        return self.load_policy(data["policy"], by=by, source=str(path))

    # ----- reading --------------------------------------------------------------------------------
    def _rows(self):
        return self._db.execute(f"SELECT {', '.join(_ENTRY_FIELDS)}, hash FROM audit ORDER BY seq").fetchall()

    @_store_errors
    def entries(self) -> list[AuditEntry]:
        """The whole audit log, oldest first."""
        return [_entry_from_row(row) for row in self._rows()]

    @staticmethod
    def _rule_from_entry(entry: AuditEntry) -> Rule:
        r = entry.rule
        return Rule(subject=r["subject"], state=r["state"], valid_from=r["from"], valid_until=r["until"],
                    allow=tuple(r["allow"]), decided_at=r["decided_at"], decided_by=entry.author,
                    reason=entry.reason, rule_id=entry.rule_id, url=r.get("url", ""), source=r.get("source", ""),
                    when=r.get("when"))

    def _replay(self, rows, as_of=None) -> dict[int, Rule]:
        cutoff = None if as_of is None else parse_utc(as_of, source="as_of")
        rules: dict[int, Rule] = {}
        for row in rows:
            entry = _entry_from_row(row)
            try:  # stored instants are range-checked like any other: a tampered 2600 must not wrap
                if cutoff is not None and parse_utc(entry.recorded_at, source="recorded_at") > cutoff:
                    break
                rule = self._rule_from_entry(entry) if entry.action == "set" else None
            except LeosimInputError as error:
                raise LeosimStoreError(f"damaged policy store: entry #{entry.seq}: {error}; `leosim policy verify` "
                                       "names the first break", source=str(self.path)) from None
            if rule is not None:
                rules[entry.rule_id] = rule
            elif entry.action == "revoke":
                rules.pop(entry.rule_id, None)
        return rules

    @_store_errors
    def rules(self, as_of=None) -> list[Rule]:
        """All rules (any window) as recorded up to ``as_of`` (default: everything), by rule id."""
        return list(self._replay(self._rows(), as_of).values())

    @_store_errors
    def rules_at(self, instant, as_of=None) -> list[Rule]:
        """The rules whose window holds ``instant`` (recorded up to ``as_of``; default: all)."""
        return [r for r in self.rules(as_of) if r.in_force(instant)]

    @_store_errors
    def state_at(self, instant, *, territory: str = "", region: str = "", fleet: str = "",
                 terminal_id: str = "", tenant: str = "", default_state: str = DEFAULT_STATE,
                 as_of=None) -> tuple[bool, Rule | None]:
        """Whether one terminal is allowed at ``instant`` and the deciding rule (None: the default)."""
        rules = self.rules(as_of)
        allowed, index = evaluate(rules, territory=[territory], region=[region], fleet=[fleet],
                                  terminal_id=[terminal_id], tenant=[tenant],
                                  instants=np.array([parse_utc(instant)]), default_state=default_state)
        k = int(index[0, 0])
        return bool(allowed[0, 0]), (rules[k] if k >= 0 else None)

    @_store_errors
    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest entry (0 and 64 zeros when empty)."""
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    @_store_errors
    def verify(self, expect_head: tuple[int, str] | None = None) -> BrokenEntry | None:
        """Check the audit log; the first break found, or None when the log is intact.

        Checked: the hash chain (each entry's hash over its content and the previous hash), consecutive
        sequence numbers, the chain head (present, and equal to the newest entry), that every entry is
        readable and consistent (a ``set`` creates the rule of its own number, a ``revoke`` withdraws a
        rule set before it, a ``previous`` state names a rule set before it) and, with ``expect_head``
        ``(seq, hash)`` kept from an earlier ``leosim policy head``, that the log still extends that head.
        """
        tables = {row[0] for row in self._db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in ("audit", "chain_head"):
            if table not in tables:
                return BrokenEntry(None, f"the {table} table is missing (dropped)")
        prev_hash = GENESIS_HASH
        hashes = [GENESIS_HASH]  # hashes[seq]: the hash of entry #seq (#0: the genesis)
        ever_set: set[int] = set()
        live: set[int] = set()
        for row in self._rows():
            entry = dict(zip((*_ENTRY_FIELDS, "hash"), row, strict=True))
            seq = entry["seq"]
            expected = len(hashes)
            if seq != expected:
                return BrokenEntry(expected, f"missing (the log jumps from #{expected - 1} to #{seq}: "
                                             f"deleted or reordered)")
            if entry["prev_hash"] != prev_hash:
                return BrokenEntry(seq, "prev_hash does not match the previous entry's hash "
                                        "(an entry before it was deleted, inserted or reordered)")
            try:
                intact = entry_hash(entry) == entry["hash"]
            except TypeError:
                intact = False
            if not intact:
                return BrokenEntry(seq, "content does not match its hash (edited)")
            problem = _entry_problem(entry, ever_set, live)
            if problem:
                return BrokenEntry(seq, problem)
            prev_hash = entry["hash"]
            hashes.append(prev_hash)
        last = len(hashes) - 1
        head = self._db.execute("SELECT id, seq, hash FROM chain_head").fetchall()
        if len(head) != 1 or head[0][0] != 1:
            return BrokenEntry(None, f"the chain head is {'missing' if not head else 'malformed'} (it exists from "
                                     f"the store's creation; the log ends at #{last}: entries may have been "
                                     "deleted or rewritten)")
        head_seq, head_hash = head[0][1], head[0][2]
        if (head_seq, head_hash) != (last, prev_hash):
            if isinstance(head_seq, int) and head_seq > last:
                return BrokenEntry(last + 1, f"missing: the chain head records {head_seq} entries, "
                                             f"the log ends at #{last} (newest entries deleted)")
            return BrokenEntry(max(last, 1), "the last entry does not match the recorded chain head")
        if expect_head is not None:
            seq, digest = expect_head
            if seq > last:
                return BrokenEntry(seq, f"the log ends at #{last} and no longer reaches the expected head "
                                        f"#{seq} (entries deleted)")
            if hashes[seq] != digest:
                return BrokenEntry(seq, "its hash differs from the expected head (the log was rewritten from "
                                        "there on)")
        return None


def parse_head(text: str, *, field: str = "--expect-head") -> tuple[int, str]:
    """``SEQ:HASH`` (as ``leosim policy head`` prints it) as ``(seq, hash)``."""
    seq_text, sep, digest = str(text).strip().partition(":")
    digest = digest.strip().lower()
    if (not sep or not seq_text.strip().isdigit() or len(digest) != 64
            or any(c not in "0123456789abcdef" for c in digest)):
        raise LeosimInputError(f"{text!r} is not SEQ:HASH (a sequence number, a colon and 64 hex digits, as "
                               "`leosim policy head` prints)", field=field)
    return int(seq_text), digest


_RULE_KEYS = ("subject", "state", "from", "until", "allow", "decided_at")


def _entry_problem(entry: dict, ever_set: set[int], live: set[int]) -> str | None:
    """What is inconsistent in one audit entry given the rules set (``ever_set``) and in force (``live``)
    before it (both updated), or None."""
    seq, action, rule_id = entry["seq"], entry["action"], entry["rule_id"]
    try:
        rule = json.loads(entry["rule"])
        previous = json.loads(entry["previous"])
        if not isinstance(rule, dict) or any(k not in rule for k in _RULE_KEYS) or not isinstance(previous, dict):
            raise ValueError("missing keys")
        for key in ("from", "until", "decided_at"):
            if rule[key] is not None or key != "until":  # only the end may be open
                parse_utc(rule[key], source=key)
    except (TypeError, ValueError) as error:  # LeosimInputError is a ValueError
        return f"unreadable rule or previous state ({error})"
    if action not in ACTIONS:
        return f"unknown action {action!r}; accepted: {', '.join(ACTIONS)}"
    if action == "set":
        if rule_id != seq:
            return f"a set entry creates rule #{seq} but records rule #{rule_id} (a rule with no entry of its own)"
        ever_set.add(seq)
        live.add(seq)
    elif rule_id not in live:
        return f"revokes rule #{rule_id}, which no earlier entry set or which was already revoked (an entry " \
               "with no rule)"
    else:
        live.discard(rule_id)
    before = previous.get("rule_id")
    if before is not None and before not in ever_set:
        return f"its previous state names rule #{before}, which no earlier entry set"
    return None


def _entry_from_row(row) -> AuditEntry:
    values = dict(zip((*_ENTRY_FIELDS, "hash"), row, strict=True))
    values["rule"] = json.loads(values["rule"])
    values["previous"] = json.loads(values["previous"])
    return AuditEntry(**values)


def _previous_state(rule: Rule, known) -> dict:
    """The state the same subject had at the rule's start before this change (latest decision)."""
    candidates = [r for r in known if r.subject == rule.subject and r.in_force(rule.valid_from)]
    if not candidates:
        return {"state": None, "rule_id": None}
    latest = max(candidates, key=lambda r: (r.decided_at, r.rule_id or 0))
    return {"state": latest.state, "rule_id": latest.rule_id}


def _check_text(value, name: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise LeosimInputError(f"--{name} must be a non-empty text", field=name)
