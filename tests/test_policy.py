"""Policy rules: precedence, windows, contradictions, restricted service, landing rights, payers."""

from __future__ import annotations

import numpy as np
import pytest

from leosim.errors import LeosimInputError
from leosim.policy import (
    Fleet,
    PayerPeriod,
    Rule,
    Tenant,
    cost_by_payer_month,
    evaluate,
    landing_rights,
    tenant_priority,
)
from leosim.timebase import parse_utc


def _t(text):
    return np.array([parse_utc(text)])


def _one(rules, instant, **terminal):
    columns = {k: [terminal.get(k, "")] for k in ("territory", "region", "fleet", "terminal_id", "tenant")}
    allowed, index = evaluate(rules, instants=_t(instant), **columns)
    return bool(allowed[0, 0]), int(index[0, 0])


def test_default_is_denied_and_can_be_changed():
    assert _one([], "2024-01-01", territory="DEU") == (False, -1)
    allowed, index = evaluate([], territory=["DEU"], instants=_t("2024-01-01"), default_state="active")
    assert allowed.tolist() == [[True]] and index.tolist() == [[-1]]


def test_precedence_terminal_over_fleet_over_region_over_country():
    d = "2022-03-01"
    rules = [
        Rule("UKR", "active", "2022-02-26", decided_at=d),            # 0 country
        Rule("region:Crimea", "denied", "2014-03-18", decided_at=d),  # 1 region
        Rule("fleet:military", "active", "2022-02-26", decided_at=d),  # 2 fleet
        Rule("terminal:T9", "denied", "2022-02-26", decided_at=d),    # 3 terminal
    ]
    at = "2022-06-01"
    assert _one(rules, at, territory="UKR") == (True, 0)
    assert _one(rules, at, territory="UKR", region="Crimea") == (False, 1)
    assert _one(rules, at, territory="UKR", region="Crimea", fleet="military") == (True, 2)
    assert _one(rules, at, territory="UKR", region="Crimea", fleet="military", terminal_id="T9") == (False, 3)
    # The order of the list does not matter, only precedence.
    reordered = rules[::-1]
    assert _one(reordered, at, territory="UKR", region="Crimea", fleet="military") == (True, 1)


def test_later_decision_wins_among_equals():
    old = Rule("UKR", "denied", "2020-01-01", decided_at="2021-01-01")
    new = Rule("UKR", "active", "2022-02-26", decided_at="2022-02-26")
    assert _one([new, old], "2022-03-01", territory="UKR") == (True, 0)
    assert _one([new, old], "2022-02-25T23:59:59", territory="UKR") == (False, 1)
    # A later decision about an earlier window overrides the earlier decision there.
    retro = Rule("UKR", "denied", "2022-03-01", "2022-03-02", decided_at="2023-01-01")
    assert _one([new, old, retro], "2022-03-01T12:00", territory="UKR") == (False, 2)
    assert _one([new, old, retro], "2022-03-02T00:00", territory="UKR") == (True, 0)


def test_window_from_inclusive_until_exclusive():
    rule = Rule("TWN", "active", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", decided_at="2023-12-01")
    instants = np.array([parse_utc(s) for s in ("2023-12-31T23:59:59.999999999", "2024-01-01T00:00:00",
                                                "2024-01-01T23:59:59.999999999", "2024-01-02T00:00:00")])
    allowed, index = evaluate([rule], territory=["TWN"], instants=instants)
    assert allowed[0].tolist() == [False, True, True, False]
    assert index[0].tolist() == [-1, 0, 0, -1]
    assert rule.in_force("2024-01-01") and not rule.in_force("2024-01-02")


def test_contradiction_is_reported():
    a = Rule("UKR", "active", "2022-01-01", "2022-06-01", decided_at="2022-01-01")
    b = Rule("UKR", "denied", "2022-05-01", decided_at="2022-01-01")
    with pytest.raises(LeosimInputError, match="contradicting rules"):
        evaluate([a, b], territory=["UKR"], instants=_t("2022-02-01"))
    # Touching windows (until == from) do not overlap; agreeing duplicates are no contradiction.
    c = Rule("UKR", "denied", "2022-06-01", decided_at="2022-01-01")
    d = Rule("UKR", "active", "2022-03-01", "2022-04-01", decided_at="2022-01-01")
    evaluate([a, c, d], territory=["UKR"], instants=_t("2022-02-01"))


def test_restricted_allows_named_fleets_and_tenants():
    rule = Rule("TWN", "restricted", "2024-01-01", allow=("fleet:gov", "tenant:navy"), decided_at="2024-01-01")
    allowed, index = evaluate([rule], territory=["TWN"] * 3, fleet=["gov", "subs", "ships"],
                              tenant=["", "", "navy"], instants=_t("2024-02-01"))
    assert allowed[:, 0].tolist() == [True, False, True]
    assert index[:, 0].tolist() == [0, 0, 0]
    with pytest.raises(LeosimInputError, match="allow"):
        Rule("TWN", "restricted", "2024-01-01")


def test_many_terminals_and_instants_match_scalar_reference():
    """The vectorised answer equals a plain per-(terminal, instant) implementation of the precedence."""
    rng = np.random.default_rng(3)
    subjects = ["UKR", "RUS", "region:Crimea", "fleet:a", "fleet:b", "terminal:7", "terminal:8"]
    rules = []
    for i in range(25):
        start = np.datetime64("2022-01-01") + np.timedelta64(int(rng.integers(0, 60)), "D")
        until = None if rng.random() < 0.3 else start + np.timedelta64(int(rng.integers(1, 40)), "D")
        rules.append(Rule(subjects[rng.integers(len(subjects))], ["active", "denied"][rng.integers(2)],
                          start, until, decided_at=np.datetime64("2021-01-01") + np.timedelta64(i, "D")))
    n = 60
    terr = rng.choice(["UKR", "RUS", "POL"], n)
    region = np.where(rng.random(n) < 0.3, "Crimea", "")
    fleet = rng.choice(["a", "b", ""], n)
    tid = rng.integers(0, 12, n).astype(str)
    instants = np.datetime64("2021-12-25", "ns") + np.arange(0, 120 * 86400, 7 * 3600).astype("timedelta64[s]")
    allowed, index = evaluate(rules, territory=terr, region=region, fleet=fleet, terminal_id=tid,
                              instants=instants)
    level = {"country": 0, "region": 1, "fleet": 2, "terminal": 3}
    for k in range(n):
        values = {"country": terr[k], "region": region[k], "fleet": fleet[k], "terminal": tid[k]}
        for j, t in enumerate(instants):
            best = -1
            for i, r in enumerate(rules):
                if values[r.kind] == r.key and r.in_force(t):
                    key = (level[r.kind], r.decided_at, i)
                    if best < 0 or key > (level[rules[best].kind], rules[best].decided_at, best):
                        best = i
            assert index[k, j] == best
            assert allowed[k, j] == (best >= 0 and rules[best].state == "active")


def test_landing_rights_follow_territory_only():
    rules = [Rule("TWN", "denied", "2020-01-01", decided_at="2020-01-01"),
             Rule("JPN", "active", "2020-01-01", decided_at="2020-01-01"),
             Rule("POL", "restricted", "2020-01-01", allow=("fleet:x",), decided_at="2020-01-01"),
             Rule("terminal:GW1", "active", "2020-01-01", decided_at="2020-01-01")]
    allowed, index = landing_rights(rules, territory=["TWN", "JPN", "POL", "DEU"], instants=_t("2024-01-01"))
    assert allowed[:, 0].tolist() == [False, True, True, False]
    assert index[:, 0].tolist() == [0, 1, 2, -1]


def test_cost_by_payer_month_prorates():
    fleet = Fleet("ukraine-donated-2022", 1000, tenant=Tenant("ukraine", priority=5), payers=(
        PayerPeriod("operator", "operator donation", "2022-02-26", "2022-04-01", 0.0),
        PayerPeriod("US DoD", "government contract", "2022-04-01", None, 100.0, terminal_count=2000),
    ))
    frame = cost_by_payer_month([fleet], "2022-02-01", "2022-05-16")
    rows = {(r.month, r.payer): (r.terminal_months, r.cost_usd) for r in frame.itertuples()}
    # February 2022 has 28 days; 26 Feb 00:00 to 1 Mar is 3 days → 3/28 of a month.
    assert rows[("2022-02", "operator")][0] == pytest.approx(1000 * 3 / 28, rel=1e-12)
    assert rows[("2022-03", "operator")] == (pytest.approx(1000.0), 0.0)
    assert rows[("2022-04", "US DoD")][1] == pytest.approx(2000 * 100.0)
    # 1–16 May (end exclusive) is 15 of 31 days.
    assert rows[("2022-05", "US DoD")][1] == pytest.approx(2000 * 100.0 * 15 / 31, rel=1e-12)
    assert ("2022-04", "operator") not in rows
    assert tenant_priority([fleet], ["ukraine-donated-2022", "other"]).tolist() == [5, 0]


def test_overlapping_payers_rejected():
    with pytest.raises(LeosimInputError, match="overlap"):
        Fleet("f", 1, payers=(PayerPeriod("a", "subscribers", "2022-01-01"),
                              PayerPeriod("b", "subscribers", "2022-06-01")))
