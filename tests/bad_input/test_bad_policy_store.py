"""Tampered, damaged, foreign, locked and full policy stores (issue 11, parts 2-5).

Every tamper case of the issue exits 1 from ``leosim policy verify`` naming what broke; a damaged or
foreign file gives one ``error:`` line naming it and exit 1, never a traceback; readers do not wait for
a writer; a writer that cannot get the lock is told the store is busy; a full disk is reported as such.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.errors import LeosimStoreBusy, LeosimStoreError
from leosim.policy import store as store_module
from leosim.policy.rules import Rule
from leosim.policy.store import GENESIS_HASH, PolicyStore, entry_hash

ENTRIES = 6  # five rules and one revocation


@pytest.fixture
def db(tmp_path) -> Path:
    path = tmp_path / "policy.sqlite"
    with PolicyStore(path) as store:
        for k, code in enumerate(("UKR", "FRA", "DEU", "POL", "RUS")):
            store.set(Rule(subject=code, state="denied" if code == "RUS" else "active",
                           valid_from=f"2022-0{k + 1}-01T00:00:00Z"), by="alice", reason=f"rule {k}")
        store.revoke(2, by="bob", reason="withdrawn")
    return path


def _cli(*args, db=None):
    extra = ["--db", str(db)] if db is not None else []
    return CliRunner().invoke(main, [*args, *extra])


def _one_error_line(result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


def _sql(path: Path, script: str) -> None:
    connection = sqlite3.connect(path)
    connection.executescript(script)
    connection.commit()
    connection.close()


def _rewrite(path: Path, edit, *, update_head: bool) -> None:
    """Apply ``edit(rows) -> rows`` to the audit log, then recompute every hash from the first entry on, as
    an attacker with write access would (and the head too when ``update_head``)."""
    connection = sqlite3.connect(path)
    fields = [*store_module._ENTRY_FIELDS, "hash"]
    rows = [dict(zip(fields, row, strict=True))
            for row in connection.execute(f"SELECT {', '.join(fields)} FROM audit ORDER BY seq")]
    rows = edit(rows)
    prev = GENESIS_HASH
    for row in rows:
        row["prev_hash"] = prev
        row["hash"] = prev = entry_hash(row)
    connection.execute("DELETE FROM audit")
    for row in rows:
        connection.execute(f"INSERT INTO audit ({', '.join(fields)}) VALUES ({', '.join('?' * len(fields))})",
                           tuple(row[f] for f in fields))
    if update_head:
        connection.execute("UPDATE chain_head SET seq = ?, hash = ?", (rows[-1]["seq"] if rows else 0, prev))
    connection.commit()
    connection.close()


def _edit_last(rows):
    rows[-1]["reason"] = "nothing to see"
    return rows


def _set_field(seq, key, value):
    def edit(rows):
        rows[seq - 1][key] = value
        return rows
    return edit


def _rule_field(seq, key, value):
    def edit(rows):
        rule = json.loads(rows[seq - 1]["rule"])
        rule[key] = value
        rows[seq - 1]["rule"] = json.dumps(rule, sort_keys=True, separators=(",", ":"))
        return rows
    return edit


def _drop_entry(seq):
    def edit(rows):
        kept = [r for r in rows if r["seq"] != seq]
        for number, row in enumerate(kept, start=1):
            row["seq"] = number
        return kept
    return edit


# ----- tampering: each case of the issue, and more ----------------------------------------------------
SQL_TAMPERING = {
    "newest entry and head deleted": "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit); "
                                     "DELETE FROM chain_head;",
    "every row of both tables deleted": "DELETE FROM audit; DELETE FROM chain_head;",
    "chain_head dropped": "DROP TABLE chain_head;",
    "audit dropped": "DROP TABLE audit;",
    "newest entry deleted": "DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit);",
    "middle entry deleted": "DELETE FROM audit WHERE seq = 3;",
    "first entry deleted": "DELETE FROM audit WHERE seq = 1;",
    "entry edited": "UPDATE audit SET reason = 'x' WHERE seq = 2;",
    "author edited": "UPDATE audit SET author = 'mallory' WHERE seq = 1;",
    "entries reordered": "UPDATE audit SET seq = 100 WHERE seq = 1;",
    "head reset to genesis": f"UPDATE chain_head SET seq = 0, hash = '{GENESIS_HASH}';",
    "head deleted": "DELETE FROM chain_head;",
    "head hash edited": "UPDATE chain_head SET hash = 'ab' || substr(hash, 3);",
    "head ahead of the log": "UPDATE chain_head SET seq = seq + 1;",
    "hash column blanked": "UPDATE audit SET hash = '' WHERE seq = 4;",
    "rule text is not JSON": "UPDATE audit SET rule = '{' WHERE seq = 2;",
    "gap in the sequence": "UPDATE audit SET seq = seq + 10 WHERE seq = 6;",
}


@pytest.mark.parametrize("script", SQL_TAMPERING.values(), ids=SQL_TAMPERING.keys())
def test_sql_tampering_is_detected(db, script):
    _sql(db, script)
    result = _cli("policy", "verify", db=db)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "intact" not in result.output
    assert result.output.startswith("broken:") or result.output.startswith("error:"), result.output


REWRITES = {
    # The case: edit the last row, recompute its hash, delete chain_head.
    "last row edited, hash recomputed, head deleted": (_edit_last, "DELETE FROM chain_head;"),
    "last row edited, hash recomputed, head kept": (_edit_last, ""),
    "revoke of a rule that was never set": (_set_field(ENTRIES, "rule_id", 99), ""),
    "set entry claiming another rule id": (_set_field(3, "rule_id", 1), ""),
    "unknown action": (_set_field(4, "action", "delete"), ""),
    "rule dated 2600 (would wrap)": (_rule_field(1, "from", "2600-01-01T00:00:00.000000000Z"), ""),
    "rule without a state": (_rule_field(2, "state", None) and (lambda rows: [
        {**r, "rule": json.dumps({k: v for k, v in json.loads(r["rule"]).items() if k != "state"})}
        if r["seq"] == 2 else r for r in rows]), ""),
    "previous state naming an unknown rule": (_set_field(5, "previous", '{"rule_id":77,"state":"active"}'), ""),
    "set entry deleted and the chain renumbered": (_drop_entry(2), ""),
}


@pytest.mark.parametrize(("edit", "script"), REWRITES.values(), ids=REWRITES.keys())
def test_rewritten_chains_are_detected(db, edit, script):
    _rewrite(db, edit, update_head=False)
    if script:
        _sql(db, script)
    result = _cli("policy", "verify", db=db)
    assert result.exit_code == 1 and result.output.startswith("broken:"), result.output


CONSISTENT_REWRITES = {
    "every entry deleted, head reset": lambda rows: [],
    "newest entries deleted, head moved back": lambda rows: rows[:3],
    "middle entry edited, every later hash and the head recomputed": _set_field(2, "reason", "forged"),
    "last entry edited, hash and head recomputed": _edit_last,
}


@pytest.mark.parametrize("edit", CONSISTENT_REWRITES.values(), ids=CONSISTENT_REWRITES.keys())
def test_consistent_rewrites_are_caught_only_by_an_expected_head(db, edit):
    """A rewrite with every hash and the head recomputed is invisible to the store alone (documented);
    ``--expect-head`` with a head kept elsewhere catches it."""
    head = _cli("policy", "head", db=db)
    assert head.exit_code == 0 and head.output.strip() == f"{ENTRIES}:{PolicyStore(db).head()[1]}"
    kept = head.output.strip()
    assert _cli("policy", "verify", "--expect-head", kept, db=db).exit_code == 0
    _rewrite(db, edit, update_head=True)
    assert _cli("policy", "verify", db=db).exit_code == 0  # the documented limitation
    result = _cli("policy", "verify", "--expect-head", kept, db=db)
    assert result.exit_code == 1 and result.output.startswith("broken:"), result.output


def test_expect_head_of_an_earlier_entry_passes_while_the_log_grows(db):
    seq, digest = 3, PolicyStore(db).entries()[2].hash
    with PolicyStore(db) as store:
        store.set(Rule(subject="ITA", state="active", valid_from="2023-01-01"), by="carol", reason="more")
    result = _cli("policy", "verify", "--expect-head", f"{seq}:{digest}", db=db)
    assert result.exit_code == 0 and "extends the expected head #3" in result.output, result.output


@pytest.mark.parametrize("head", ["", "abc", "3", "3:", ":" + "0" * 64, "x:" + "0" * 64, "-1:" + "0" * 64,
                                  "3:" + "0" * 63, "3:" + "g" * 64, "3:" + "0" * 65, "3;" + "0" * 64])
def test_malformed_expect_head_is_an_input_error(db, head):
    _one_error_line(_cli("policy", "verify", "--expect-head", head, db=db), 2)


def test_head_of_a_broken_log_exits_1(db):
    _sql(db, "DELETE FROM chain_head;")
    result = _cli("policy", "head", db=db)
    assert result.exit_code == 1 and result.stdout == "", result.output
    assert "broken" in _one_error_line(result, 1)


# ----- damaged and foreign files -------------------------------------------------------------------------
def _garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 10)


def _truncated(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:200])


def _foreign(path: Path) -> None:
    path.unlink()
    _sql(path, "CREATE TABLE customers (id INTEGER, name TEXT); INSERT INTO customers VALUES (1, 'x');")


def _newer(path: Path) -> None:
    _sql(path, "UPDATE schema_version SET version = 99;")


def _version_text(path: Path) -> None:
    _sql(path, "UPDATE schema_version SET version = 'three';")


def _empty_file(path: Path) -> None:
    path.write_bytes(b"")


DAMAGE = {"garbage": _garbage, "foreign sqlite": _foreign, "newer schema": _newer,
          "schema version text": _version_text, "chain_head dropped": lambda p: _sql(p, "DROP TABLE chain_head;"),
          "audit dropped": lambda p: _sql(p, "DROP TABLE audit;"),
          "api_tokens dropped": lambda p: _sql(p, "DROP TABLE api_tokens;")}
COMMANDS = {
    "show": ["policy", "show", "--at", "2022-06-01"],
    "log": ["policy", "log"],
    "set": ["policy", "set", "ITA", "active", "--from", "2023-01-01", "--by", "a", "--reason", "r"],
    "head": ["policy", "head"],
    "token list": ["token", "list"],
}


@pytest.mark.parametrize("damage", DAMAGE.values(), ids=DAMAGE.keys())
@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
def test_damaged_or_foreign_store_is_one_error_line_exit_1(db, damage, command):
    for suffix in ("-wal", "-shm"):  # a checkpointed store: the damage is in the main file
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    damage(db)
    line = _one_error_line(_cli(*command, db=db), 1)
    assert str(db) in line


@pytest.mark.parametrize("damage", [_garbage, _truncated, _empty_file], ids=["garbage", "truncated", "empty"])
def test_verify_of_a_damaged_file_names_it(db, damage):
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    damage(db)
    result = _cli("policy", "verify", db=db)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output


def test_directory_as_store_is_one_error_line(tmp_path):
    for command in (["policy", "verify"], ["policy", "set", "FRA", "active", "--from", "2023-01-01", "--by", "a",
                                          "--reason", "r"]):
        result = _cli(*command, db=tmp_path)
        assert result.exit_code in (1, 2), result.output
        assert "Traceback" not in result.output and str(tmp_path) in result.output


# ----- bad values that must never reach the append-only log -------------------------------------------------
@pytest.mark.parametrize("args", [
    ["FRA", "denied", "--from", "2600-01-01T00:00:00Z"],          # the case: recorded as 2015
    ["FRA", "denied", "--from", "1600-01-01T00:00:00Z"],
    ["FRA", "denied", "--from", "2022-01-01", "--until", "9999-01-01"],
    ["UKRR", "active", "--from", "2022-01-01"],                   # a mistyped country
    ["Ukriane", "active", "--from", "2022-01-01"],
    ["Atlantis", "active", "--from", "2022-01-01"],               # a new region must be written region:NAME
    ["region:", "active", "--from", "2022-01-01"],
    ["planet:Mars", "active", "--from", "2022-01-01"],
    ["", "active", "--from", "2022-01-01"],
])
def test_refused_policy_set_stores_nothing(db, args):
    before = PolicyStore(db).entries()
    line = _one_error_line(_cli("policy", "set", *args, "--by", "a", "--reason", "r", db=db), 2)
    assert PolicyStore(db).entries() == before
    if args[0] == "UKRR":
        assert "UKR (Ukraine)" in line and "region:UKRR" in line


def test_a_new_region_is_accepted_when_written_region_name(db):
    result = _cli("policy", "set", "region:Atlantis", "denied", "--from", "2022-01-01", "--by", "a",
                  "--reason", "r", db=db)
    assert result.exit_code == 0 and "region:Atlantis" in result.output, result.output
    # Known now: the bare name resolves to it.
    again = _cli("policy", "set", "Atlantis", "denied", "--from", "2022-01-01", "--until", "2022-02-01",
                 "--by", "a", "--reason", "r", db=db)
    assert again.exit_code == 0 and "region:Atlantis" in again.output, again.output


def test_out_of_range_policy_set_creates_no_store(tmp_path):
    path = tmp_path / "new.sqlite"
    _one_error_line(_cli("policy", "set", "FRA", "denied", "--from", "2600-01-01T00:00:00Z", "--by", "me",
                         "--reason", "r", db=path), 2)
    assert not path.exists()


@pytest.mark.parametrize("name", ["bob", "BOB", " bob "])
def test_token_names_are_unique(db, name):
    first = _cli("token", "create", "--role", "viewer", "--name", "bob", db=db)
    assert first.exit_code == 0, first.output
    assert _cli("token", "revoke", "1", db=db).exit_code == 0
    line = _one_error_line(_cli("token", "create", "--role", "operator", "--name", name, db=db), 2)
    assert "taken" in line
    assert _cli("token", "list", db=db).output.count("bob") == 1


# ----- locks: readers never wait for a writer ----------------------------------------------------------------
HOLD_LOCK = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN IMMEDIATE")
connection.execute("UPDATE api_tokens SET name = name")
connection.execute("INSERT INTO api_tokens (name, role, token_sha256, created_at) VALUES ('w', 'viewer', 'h', 't')")
print("locked", flush=True)
sys.stdin.read()  # hold the write transaction until the test closes stdin
connection.execute("ROLLBACK")
"""


@pytest.fixture
def write_lock_held(db):
    """Another process holding a write transaction on ``db`` for the duration of the test."""
    process = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(db)], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == "locked"
        yield db
    finally:
        process.stdin.close()
        process.wait(timeout=60)
        process.stdout.close()


def test_reads_answer_while_a_writer_holds_the_lock(write_lock_held, monkeypatch):
    # A generous wait for the reads (they must not need it); the write below must give up quickly.
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.5)
    db = write_lock_held
    with PolicyStore(db, read_only=True) as store:
        assert len(store.entries()) == ENTRIES and store.verify() is None
        assert {r.subject for r in store.rules()} == {"UKR", "DEU", "POL", "RUS"}
    for command in (["policy", "show", "--at", "2022-06-01"], ["policy", "log"], ["policy", "verify"],
                    ["policy", "head"], ["token", "list"]):
        result = _cli(*command, db=db)
        assert result.exit_code == 0, (command, result.output)
    with pytest.raises(LeosimStoreBusy, match="policy store is busy"):
        with PolicyStore(db) as store:
            store.set(Rule(subject="ITA", state="active", valid_from="2023-01-01"), by="a", reason="r")
    line = _one_error_line(_cli("policy", "set", "ITA", "active", "--from", "2023-01-01", "--by", "a",
                                "--reason", "r", db=db), 1)
    assert "busy" in line


# ----- full disk ---------------------------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KiB tmpfs (needs root and mount permission; skipped with the reason otherwise)."""
    mount_point = tmp_path / "disk"
    mount_point.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    try:
        while True:
            os.write(fd, b"\0")
    except OSError:
        pass
    os.close(fd)
    return filler


def test_full_disk_new_store_leaves_no_file(small_disk):
    _fill(small_disk)
    path = small_disk / "new.sqlite"
    with pytest.raises(LeosimStoreError, match="no space left"):
        PolicyStore(path)
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    line = _one_error_line(_cli("policy", "set", "FRA", "denied", "--from", "2022-01-01", "--by", "a",
                                "--reason", "r", db=path), 1)
    assert "no space left" in line
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]


def test_full_disk_policy_set_reports_the_real_error(small_disk):
    path = small_disk / "policy.sqlite"
    with PolicyStore(path) as store:
        store.set(Rule(subject="UKR", state="active", valid_from="2022-01-01"), by="a", reason="r")
    filler = _fill(small_disk)
    result = _cli("policy", "set", "FRA", "denied", "--from", "2022-01-01", "--by", "a", "--reason", "r" * 4000,
                  db=path)
    line = _one_error_line(result, 1)
    assert "no space left" in line and "cannot rollback" not in line and str(path) in line
    filler.unlink()
    with PolicyStore(path, read_only=True) as store:  # nothing half-written
        assert store.verify() is None and [e.rule["subject"] for e in store.entries()] == ["UKR"]
