"""`leosim access` and access_at: covered / routable / allowed, and the deciding rule."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from leosim.cli import main
from leosim.orbits.constellation import Constellation
from leosim.policy.rules import Rule
from leosim.service.access import ACCESS_KEYS, access_at

AT = "2024-10-25T12:00:00Z"
TAIPEI = (25.0330, 121.5654)
KYIV = (50.4501, 30.5234)


@pytest.fixture(scope="module")
def gen1():
    return Constellation.preset("starlink-gen1")


def rule(subject, state, start="2019-01-01", **kwargs):
    return Rule(subject=subject, state=state, valid_from=np.datetime64(start, "ns"),
                decided_at=np.datetime64(start, "ns"), **kwargs)


def test_denied_place_with_satellites_overhead_is_covered_but_denied(gen1):
    rules = [rule("TWN", "denied", reason="never switched on", decided_by="SpaceX"), rule("UKR", "active")]
    answer = access_at(*TAIPEI, AT, constellation=gen1, rules=rules)
    assert set(ACCESS_KEYS) <= set(answer)
    assert answer["territory"] == "TWN"
    assert answer["covered"] and answer["visible_sats"] > 5
    assert answer["routable"]
    # No gateway in Taiwan: traffic lands abroad (the nearest are in Japan, the Philippines and Guam).
    assert answer["gateway"].startswith("gw-") and answer["pop"] in ("pop-tyo", "pop-mnl")
    assert not answer["allowed"]
    assert "TWN denied" in answer["rule"] and "never switched on" in answer["rule"]
    # The would-be RTT is physical: above the vacuum bound to the PoP, below a loose 100 ms.
    assert 5.0 < answer["rtt_ms"] < 100.0


def test_allowed_place_and_default_rule(gen1):
    answer = access_at(*KYIV, AT, constellation=gen1, rules=[rule("UKR", "active")])
    assert answer["allowed"] and answer["territory"] == "UKR" and answer["rule"].startswith("UKR active")
    nothing = access_at(*KYIV, AT, constellation=gen1, rules=[])
    assert not nothing["allowed"] and nothing["rule"].startswith("default: denied")


def test_gateway_without_landing_rights_carries_nothing(gen1):
    # Deny every country that hosts a gateway near Taiwan; the place is then covered but not routable
    # through them, and its route (if any) lands elsewhere.
    base = access_at(*TAIPEI, AT, constellation=gen1, rules=[rule("TWN", "active")])
    landing_country = {"gw-angeles": "PHL"}.get(base["gateway"], None)
    assert landing_country is not None, base["gateway"]
    moved = access_at(*TAIPEI, AT, constellation=gen1, rules=[rule("TWN", "active"), rule(landing_country, "denied")])
    assert moved["gateway"] != base["gateway"]
    assert moved["rtt_ms"] is None or moved["rtt_ms"] >= base["rtt_ms"]


def test_open_sea_far_from_everything_has_no_route_without_isls():
    sats = Constellation.preset("starlink-gen1")
    bent_pipe = np.zeros((0, 2), dtype=np.int64)
    answer = access_at(-48.9, -123.4, AT, constellation=sats, rules=[], isls=bent_pipe)  # Point Nemo
    assert answer["territory"] == ""
    assert answer["covered"] and not answer["routable"] and answer["rtt_ms"] is None


def test_cli_json_contract(tmp_path):
    db = tmp_path / "p.sqlite"
    runner = CliRunner()
    setup = runner.invoke(main, ["policy", "set", "TWN", "denied", "--from", "2019-05-24T00:00:00Z", "--by", "SpaceX",
                                 "--reason", "never activated", "--db", str(db)])
    assert setup.exit_code == 0, setup.output
    result = runner.invoke(main, ["access", "--lat", str(TAIPEI[0]), "--lon", str(TAIPEI[1]), "--at", AT,
                                  "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert list(answer)[:len(ACCESS_KEYS)] == list(ACCESS_KEYS)
    assert answer["covered"] is True and answer["allowed"] is False and "never activated" in answer["rule"]
    table = runner.invoke(main, ["access", "--lat", "50.45", "--lon", "30.52", "--at", AT, "--db", str(db)])
    assert table.exit_code == 0 and "UKR" in table.output


@pytest.mark.parametrize(("args", "message"), [
    (["--lat", "95", "--lon", "0", "--at", AT], "latitude"),
    (["--lat", "10", "--lon", "0", "--at", "tomorrow"], "ISO 8601"),
    (["--lat", "10", "--lon", "0", "--at", AT, "--constellation", "nope"], "unknown constellation"),
])
def test_cli_bad_input(tmp_path, args, message):
    from leosim.policy.store import PolicyStore

    PolicyStore(tmp_path / "p.sqlite").close()  # an existing, empty store
    result = CliRunner().invoke(main, ["access", *args, "--db", str(tmp_path / "p.sqlite")])
    assert result.exit_code == 2 and message in result.output
