"""CLI commands of the policy layer: ``leosim policy set|show|log|verify|head``.

The store is ``--db FILE``, else ``$LEOSIM_DB``, else the per-user data directory
(``platformdirs.user_data_path("leosim") / "policy.sqlite"``).
"""

from __future__ import annotations

import json

import click

_DB_HELP = "policy store (SQLite file); default $LEOSIM_DB or the per-user data directory"


def _open(db, *, read_only: bool = False):
    """The store named by --db / $LEOSIM_DB / the default. Reading an explicitly named store that does not
    exist is an error: a mistyped path must not look like an empty, intact audit log."""
    import os

    from ..policy.store import PolicyStore

    named = db is not None or bool(os.environ.get("LEOSIM_DB"))
    return PolicyStore(db, must_exist=read_only and named, read_only=read_only)


def _rule_row(rule) -> dict:
    iso = _iso
    return {"rule_id": rule.rule_id, "subject": rule.subject, "state": rule.state,
            "allow": list(rule.allow), "from": iso(rule.valid_from), "until": iso(rule.valid_until),
            "decided_at": iso(rule.decided_at), "by": rule.decided_by, "reason": rule.reason,
            "source": rule.source, "url": rule.url,
            "when": rule.when.as_dict() if rule.when is not None else None}


def _iso(value) -> str | None:
    if value is None:
        return None
    import numpy as np

    return np.datetime_as_string(value.astype("datetime64[s]"), unit="s") + "Z"


def _table(rows: list[dict], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


@click.group("policy")
def policy_group():
    """Service policy: who gets service where and when, with an audit log."""


@policy_group.command("set")
@click.argument("territory")
@click.argument("state", type=click.Choice(["active", "denied", "restricted"]))
@click.option("--from", "valid_from", required=True, metavar="ISO8601", help="start of the rule (inclusive)")
@click.option("--until", "valid_until", metavar="ISO8601", help="end of the rule (exclusive); default open")
@click.option("--by", "author", required=True, help="who decided")
@click.option("--reason", required=True, help="why")
@click.option("--allow", multiple=True, metavar="fleet:NAME|tenant:NAME|registered|plan:NAME",
              help="for restricted: who may still use the service (repeatable)")
@click.option("--url", default="", metavar="URL", help="link to the public source of the decision (https://...)")
@click.option("--source", default="", help="the source in words (outlet, date)")
@click.option("--speed-above-kmh", type=float, help="condition: only terminals faster than this (km/h)")
@click.option("--days-abroad-above", type=float,
              help="condition: only terminals more days than this outside their registered country")
@click.option("--abroad-year", type=click.Choice(["rolling", "calendar"]), default="rolling", show_default=True,
              help="the year --days-abroad-above counts in")
@click.option("--offshore-above-nm", type=float, help="condition: only terminals at sea farther than this from land")
@click.option("--plan", "plans", multiple=True, metavar="PLAN",
              help="condition: only terminals on this plan (repeatable)")
@click.option("--exempt-plan", "exempt_plans", multiple=True, metavar="PLAN",
              help="condition: not terminals on this plan (repeatable)")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def set_command(territory, state, valid_from, valid_until, author, reason, allow, speed_above_kmh,
                days_abroad_above, abroad_year, offshore_above_nm, plans, exempt_plans, url, source, db):
    """Record that TERRITORY is in STATE from --from (until --until).

    TERRITORY is an ISO 3166 alpha-3 code (UKR), a custom region name (or region:NAME),
    terminal:ID or fleet:NAME. STATE is active, denied or restricted. The condition options make the
    rule apply only to the terminals and instants where they all hold, e.g. a speed limit:
    `leosim policy set UKR denied --speed-above-kmh 75 --exempt-plan aviation ...`.
    """
    from ..policy.rules import Rule
    from ..policy.subjects import resolve_subject
    from ..timebase import parse_utc

    start = parse_utc(valid_from, source="--from")
    end = parse_utc(valid_until, source="--until") if valid_until else None
    with _open(db) as store:
        known_regions = {r.key for r in store.rules() if r.kind == "region"}
        subject = resolve_subject(territory, known_regions)
        when = {"speed_above_kmh": speed_above_kmh, "days_abroad_above": days_abroad_above,
                "abroad_year": abroad_year, "offshore_above_nm": offshore_above_nm, "plans": plans,
                "exempt_plans": exempt_plans}
        conditional = any(v for k, v in when.items() if k != "abroad_year" and v not in (None, ()))
        rule = Rule(subject=subject, state=state, valid_from=start, valid_until=end, allow=tuple(allow),
                    when=when if conditional else None, url=url, source=source)
        entry = store.set(rule, by=author, reason=reason)
    until = _iso(rule.valid_until) or "open"
    condition = f" when {rule.when.describe()}" if rule.when is not None else ""
    click.echo(f"recorded entry #{entry.seq}: {subject} {state}{condition} from {_iso(rule.valid_from)} until "
               f"{until} by {author}")


@policy_group.command("show")
@click.option("--at", "at", default="now", show_default=True, metavar="ISO8601", help="instant to show")
@click.option("--as-of", "as_of", metavar="ISO8601",
              help="only decisions recorded up to this instant (time travel through the log)")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def show_command(at, as_of, db, as_json):
    """The rules in force at an instant (--at)."""
    from ..timebase import parse_utc

    instant = parse_utc(at, source="--at")
    cutoff = parse_utc(as_of, source="--as-of") if as_of else None
    with _open(db, read_only=True) as store:
        rules = store.rules_at(instant, as_of=cutoff)
    rows = [_rule_row(r) for r in sorted(rules, key=lambda r: (r.subject, r.decided_at))]
    if as_json:
        click.echo(json.dumps({"at": _iso(instant), "rules": rows}, indent=2))
        return
    if not rows:
        click.echo(f"no rules in force at {_iso(instant)} (default: denied)")
        return
    for row, rule in zip(rows, sorted(rules, key=lambda r: (r.subject, r.decided_at)), strict=True):
        row["allow"] = ",".join(row["allow"])
        row["when"] = rule.when.describe() if rule.when is not None else ""
    sourced = [c for c in ("source", "url") if any(row[c] for row in rows)]  # only when a rule has one
    click.echo(_table(rows, ["rule_id", "subject", "state", "allow", "when", "from", "until", "decided_at", "by",
                             "reason", *sourced]))


@policy_group.command("log")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def log_command(db, as_json):
    """The audit log: every change, who made it, when and why."""
    with _open(db, read_only=True) as store:
        entries = store.entries()
    if as_json:
        click.echo(json.dumps([e.as_dict() for e in entries], indent=2, ensure_ascii=False))
        return
    rows = [{"seq": e.seq, "recorded_at": e.recorded_at[:19] + "Z", "by": e.author, "action": e.action,
             "rule": e.rule_id, "subject": e.rule["subject"], "state": e.rule["state"],
             "from": (e.rule["from"] or "")[:19], "until": (e.rule["until"] or "")[:19],
             "previous": e.previous.get("state") or "-", "reason": e.reason, "hash": e.hash[:12]}
            for e in entries]
    if not rows:
        click.echo("the log is empty")
        return
    click.echo(_table(rows, list(rows[0])))


@policy_group.command("verify")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--expect-head", "expect_head", metavar="SEQ:HASH",
              help="also fail unless the log still extends this head (kept from `leosim policy head`)")
@click.pass_context
def verify_command(ctx, db, expect_head):
    """Check the audit log: exit 0 when intact, 1 naming the first break.

    Detects edited, deleted, inserted or reordered entries, deletion of the newest entries, a missing
    chain head and entries inconsistent with the rules. A whole log rewritten consistently (hashes and
    head recomputed) is detected only against a head kept elsewhere: --expect-head.
    """
    from ..policy.store import parse_head

    expected = parse_head(expect_head) if expect_head is not None else None
    with _open(db, read_only=True) as store:
        broken = store.verify(expect_head=expected)
        seq, head = store.head()
    if broken is None:
        extends = f", extends the expected head #{expected[0]}" if expected else ""
        click.echo(f"intact: {seq} entries, head {seq}:{head}{extends}")
        return
    click.echo(f"broken: {broken}")
    ctx.exit(1)


@policy_group.command("head")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.pass_context
def head_command(ctx, db):
    """Print the log's head as SEQ:HASH, to keep elsewhere for `policy verify --expect-head`.

    Exits 1 (printing nothing on stdout) when the log is broken: a head of a broken log is worth nothing.
    """
    with _open(db, read_only=True) as store:
        broken = store.verify()
        seq, head = store.head()
    if broken is not None:
        click.echo(f"error: {store.path}: the audit log is broken ({broken}); no head to keep", err=True)
        ctx.exit(1)
    click.echo(f"{seq}:{head}")


def register(group) -> None:
    """Add this module's commands to the top-level leosim group."""
    group.add_command(policy_group)
