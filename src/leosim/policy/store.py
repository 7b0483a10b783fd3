"""The policy store: an SQLite file holding an append-only, hash-chained audit log of policy changes.

Every change (``set`` a rule, ``revoke`` one) is one row of ``audit``: who, when (recorded_at, UTC),
what (the rule as canonical JSON), why (reason), the previous state of that subject at the rule's
start, and two hashes. ``hash`` is SHA-256 over the canonical JSON (sorted keys, no spaces, UTF-8) of
the entry's fields *including* ``prev_hash``, the hash of the entry before it (64 zeros for the first).
Editing, deleting or reordering rows therefore breaks the chain, and :meth:`PolicyStore.verify` names
the first broken entry. A ``chain_head`` row (sequence number and hash of the last entry, updated in
the same transaction) also catches deletion of the newest entries. Limitation: someone who rewrites the
whole chain and the head consistently is not detected — keep the head hash (``leosim policy verify``
prints it) somewhere else to guard against that.

The rules are never stored apart from the log: :meth:`PolicyStore.rules` replays the log, optionally
only up to a recording instant (``as_of``), so the policy as known at any past moment can be rebuilt
("time travel"); :meth:`PolicyStore.rules_at` gives the rules in force at an instant.

Writes run inside ``BEGIN IMMEDIATE`` transactions, so two processes writing at once serialise and
lose nothing (SQLite's busy timeout makes the second wait). The schema is versioned
(``schema_version``) and upgraded by the migrations in :data:`MIGRATIONS` when a store is opened.

Default location: ``--db`` on the command line, else ``$LEOSIM_DB``, else
``platformdirs.user_data_path("leosim") / "policy.sqlite"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError
from ..timebase import parse_utc
from .rules import DEFAULT_STATE, Rule, check_rules, evaluate, rules_from_config

GENESIS_HASH = "0" * 64
#: Seconds a writer waits for another process's transaction before giving up.
BUSY_TIMEOUT_S = 60.0

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
    """The rule as canonical JSON; a rule with a condition adds ``when`` (its set keys), so the JSON and
    hashes of unconditional rules are what they were before conditions existed (no schema change)."""
    value = {"subject": rule.subject, "state": rule.state, "from": _iso(rule.valid_from),
             "until": _iso(rule.valid_until), "allow": list(rule.allow), "decided_at": _iso(rule.decided_at)}
    if rule.when is not None:
        value["when"] = rule.when.as_dict()
    return canonical_json(value)


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

    seq: int
    reason: str

    def __str__(self) -> str:
        return f"entry #{self.seq}: {self.reason}"


class PolicyStore:
    """A policy store in an SQLite file (created and migrated on open). Use as a context manager."""

    def __init__(self, path=None, *, must_exist: bool = False):
        self.path = Path(path) if path is not None else default_db_path()
        if must_exist and str(self.path) != ":memory:" and not self.path.is_file():
            raise LeosimInputError("no such policy store (a store is created by `leosim policy set`, or give "
                                   "--db / LEOSIM_DB the path of an existing one)", source=str(self.path))
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_S, isolation_level=None)
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise LeosimInputError(f"not a leosim policy store ({error})", source=str(self.path)) from None

    def __enter__(self) -> PolicyStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._db.close()

    # ----- schema ---------------------------------------------------------------------------------
    def _migrate(self) -> None:
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            row = db.execute("SELECT version FROM schema_version").fetchone()
            version = row[0] if row else 0
            if row is None:
                db.execute("INSERT INTO schema_version (version) VALUES (0)")
            if version > SCHEMA_VERSION:
                raise LeosimInputError(f"store has schema version {version}, newer than this leosim "
                                       f"({SCHEMA_VERSION}); upgrade leosim", source=str(self.path))
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number].split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("UPDATE schema_version SET version = ?", (number + 1,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return self._db.execute("SELECT version FROM schema_version").fetchone()[0]

    # ----- writing --------------------------------------------------------------------------------
    def set(self, rule: Rule, *, by: str, reason: str) -> AuditEntry:
        """Record a new rule decided by ``by`` for ``reason``; returns its audit entry (rule_id = seq)."""
        return self.record([rule], by=by, reason=reason)[0]

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
            self._db.execute("ROLLBACK")
            raise
        return entries

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
            self._db.execute("ROLLBACK")
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

    def entries(self) -> list[AuditEntry]:
        """The whole audit log, oldest first."""
        return [_entry_from_row(row) for row in self._rows()]

    @staticmethod
    def _rule_from_entry(entry: AuditEntry) -> Rule:
        r = entry.rule
        return Rule(subject=r["subject"], state=r["state"], valid_from=r["from"], valid_until=r["until"],
                    allow=tuple(r["allow"]), decided_at=r["decided_at"], decided_by=entry.author,
                    reason=entry.reason, rule_id=entry.rule_id, when=r.get("when"))

    def _replay(self, rows, as_of=None) -> dict[int, Rule]:
        cutoff = None if as_of is None else parse_utc(as_of, source="as_of")
        rules: dict[int, Rule] = {}
        for row in rows:
            entry = _entry_from_row(row)
            if cutoff is not None and parse_utc(entry.recorded_at) > cutoff:
                break
            if entry.action == "set":
                rules[entry.rule_id] = self._rule_from_entry(entry)
            elif entry.action == "revoke":
                rules.pop(entry.rule_id, None)
        return rules

    def rules(self, as_of=None) -> list[Rule]:
        """All rules (any window) as recorded up to ``as_of`` (default: everything), by rule id."""
        return list(self._replay(self._rows(), as_of).values())

    def rules_at(self, instant, as_of=None) -> list[Rule]:
        """The rules whose window holds ``instant`` (recorded up to ``as_of``; default: all)."""
        return [r for r in self.rules(as_of) if r.in_force(instant)]

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

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the newest entry (0 and 64 zeros when empty)."""
        row = self._db.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS_HASH)

    def verify(self) -> BrokenEntry | None:
        """Check the hash chain; the first broken entry, or None when the log is intact."""
        prev_hash = GENESIS_HASH
        expected = 1
        for row in self._rows():
            entry = dict(zip((*_ENTRY_FIELDS, "hash"), row, strict=True))
            seq = entry["seq"]
            if seq != expected:
                return BrokenEntry(expected, f"missing (the log jumps from #{expected - 1} to #{seq}: "
                                             f"deleted or reordered)")
            if entry["prev_hash"] != prev_hash:
                return BrokenEntry(seq, "prev_hash does not match the previous entry's hash "
                                        "(an entry before it was deleted, inserted or reordered)")
            if entry_hash(entry) != entry["hash"]:
                return BrokenEntry(seq, "content does not match its hash (edited)")
            prev_hash = entry["hash"]
            expected += 1
        head = self._db.execute("SELECT seq, hash FROM chain_head WHERE id = 1").fetchone()
        if head is not None and (head[0], head[1]) != (expected - 1, prev_hash):
            if head[0] >= expected:
                return BrokenEntry(expected, f"missing: the chain head records {head[0]} entries, "
                                             f"the log ends at #{expected - 1} (newest entries deleted)")
            return BrokenEntry(max(expected - 1, 1), "the last entry does not match the recorded chain head")
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
