"""Where user-mode routes land (leosim.network.routing, ``gateway_selection``): the lowest-RTT gateway or the
gateway nearest the terminal in the space segment, on an equatorial ring whose RTTs are worked out by hand,
and the scenario key that selects it."""

from __future__ import annotations

import typing

import numpy as np
import pytest

from leosim.constants import FIBRE_REFRACTIVE_INDEX, MEAN_EARTH_RADIUS_KM, SPEED_OF_LIGHT_KM_S, WGS84_A_KM
from leosim.errors import LeosimInputError
from leosim.network.routing import GATEWAY_SELECTIONS, Router

C = SPEED_OF_LIGHT_KM_S
# RTTs from closed-form geometry: 1 ns (30 cm of light) is far above the float round-off of sums of a few
# 10^4 km (~1e-15 s) and of the 1 ps selection weight put back (~1e-18 s), far below the milliseconds that
# separate the candidate routes.
ONE_NS_MS = 1e-6
N_SAT, ALT_KM = 24, 550.0
MASK_DEG = 70.0  # a site sees only a satellite within ~2.5 deg of longitude (the next one, 15 deg off, is at ~10 deg)

# Sites on the equator (longitude, deg): a terminal under satellite 0, a gateway 1 deg east of it (same
# satellite, bent pipe), a gateway under satellite 5 (five lasers east) with a PoP 1 deg further east, a PoP
# 60 deg west (the near gateway's nearest PoP by fibre), and a second terminal 0.5 deg east of the first.
LON_DEG = np.array([0.0, 1.0, 75.0, 76.0, -60.0, 0.5])
KINDS = ["terminal", "gateway", "gateway", "pop", "pop", "terminal"]
TERMINAL, GW_NEAR, GW_FAR, POP_FAR, POP_WEST, TERMINAL_2 = range(6)


def _ring():
    """Satellites on an equatorial circle of radius a + 550 km, 15 deg apart (satellite k at longitude 15k),
    each laser-linked to its neighbours; sites on the equator at height 0 (ECEF (a cos, a sin, 0))."""
    u = np.radians(np.arange(N_SAT) * 360.0 / N_SAT)
    r = WGS84_A_KM + ALT_KM
    sats = np.stack([r * np.cos(u), r * np.sin(u), np.zeros(N_SAT)], axis=1)
    ring = np.stack([np.arange(N_SAT), (np.arange(N_SAT) + 1) % N_SAT], axis=1)
    lon = np.radians(LON_DEG)
    site = np.stack([WGS84_A_KM * np.cos(lon), WGS84_A_KM * np.sin(lon), np.zeros(lon.size)], axis=1)
    up = np.stack([np.cos(lon), np.sin(lon), np.zeros(lon.size)], axis=1)  # on the equator, geodetic up = radial
    return sats, ring, site, up


def _router(selection, site, up, ring, **kw):
    return Router(site, KINDS, mode="user", isls=ring, site_up=up, min_elevation_deg=MASK_DEG,
                  gateway_selection=selection, **kw)


def _fibre_ms(a, b):
    """One-way fibre delay, ms, along the equator between sites a and b: arc of the mean sphere at c/1.468."""
    km = MEAN_EARTH_RADIUS_KM * np.radians(abs(LON_DEG[a] - LON_DEG[b]))
    return km * FIBRE_REFRACTIVE_INDEX / C * 1000.0


@pytest.fixture(scope="module")
def hand():
    """The one-way delays (ms) of the candidate routes, by hand (vector norms of the legs)."""
    sats, ring, site, up = _ring()
    r = WGS84_A_KM + ALT_KM
    chord_km = 2 * r * np.sin(np.radians(360.0 / N_SAT) / 2)  # one laser between neighbours
    up_km = {t: np.linalg.norm(site[t] - sats[0]) for t in (TERMINAL, TERMINAL_2)}  # terminal -> satellite 0
    near_km = np.linalg.norm(sats[0] - site[GW_NEAR])                                # satellite 0 -> near gateway
    far_km = 5 * chord_km + np.linalg.norm(sats[5] - site[GW_FAR])                   # lasers 0..5, down to far gw
    space_near = {t: (up_km[t] + near_km) / C * 1000.0 for t in up_km}
    space_far = {t: (up_km[t] + far_km) / C * 1000.0 for t in up_km}
    return {"geometry": (sats, ring, site, up), "space_near": space_near, "space_far": space_far}


def test_lowest_rtt_lands_far_and_nearest_lands_near(hand):
    sats, ring, site, up = hand["geometry"]
    near, far = hand["space_near"][TERMINAL], hand["space_far"][TERMINAL]
    # Lowest RTT: lasers at c to the gateway next to the far PoP beat fibre at c/1.468 from the near one.
    want_low = far + _fibre_ms(GW_FAR, POP_FAR)
    assert want_low < near + _fibre_ms(GW_NEAR, POP_WEST) - 1.0  # the hand numbers say so, by over 1 ms
    low = _router("lowest-rtt", site, up, ring).route(sats, [TERMINAL], [-1])
    assert (low.gateway[0], low.dst[0]) == (GW_FAR, POP_FAR)
    assert low.rtt_ms[0] == pytest.approx(2 * want_low, abs=ONE_NS_MS)
    # Nearest: the gateway sharing the terminal's satellite; then fibre to that gateway's nearest PoP (west).
    step = _router("nearest", site, up, ring).route(sats, [TERMINAL], [-1])
    assert (step.gateway[0], step.dst[0]) == (GW_NEAR, POP_WEST)
    assert step.rtt_ms[0] == pytest.approx(2 * (near + _fibre_ms(GW_NEAR, POP_WEST)), abs=ONE_NS_MS)
    assert step.one_way_ms[0] == pytest.approx(near + _fibre_ms(GW_NEAR, POP_WEST), abs=ONE_NS_MS)
    assert step.path(0).tolist() == [N_SAT + TERMINAL, 0, N_SAT + GW_NEAR, N_SAT + POP_WEST]
    assert step.hops[0] == 3


def test_a_given_pop_keeps_the_nearest_gateway(hand):
    sats, ring, site, up = hand["geometry"]
    router = _router("nearest", site, up, ring)
    # Two terminals to one PoP: searched backwards from the PoP; one terminal: forwards. Same answers.
    for src in ([TERMINAL, TERMINAL_2], [TERMINAL_2]):
        step = router.route(sats, src, np.full(len(src), POP_FAR))
        for p, t in enumerate(src):
            assert (step.gateway[p], step.dst[p]) == (GW_NEAR, POP_FAR)
            want = hand["space_near"][t] + _fibre_ms(GW_NEAR, POP_FAR)
            assert step.rtt_ms[p] == pytest.approx(2 * want, abs=ONE_NS_MS)
            assert step.path(p).tolist() == [N_SAT + t, 0, N_SAT + GW_NEAR, N_SAT + POP_FAR]
    # Given PoPs and best PoPs in one call: each pair as when asked alone.
    mixed = router.route(sats, [TERMINAL, TERMINAL_2, TERMINAL], [-1, POP_FAR, POP_FAR])
    alone = [router.route(sats, [TERMINAL], [-1]), router.route(sats, [TERMINAL_2], [POP_FAR]),
             router.route(sats, [TERMINAL], [POP_FAR])]
    for p, one in enumerate(alone):
        for name in ("dst", "gateway", "rtt_ms", "one_way_ms", "hops"):
            assert getattr(mixed, name)[p] == getattr(one, name)[0], name
        assert mixed.path(p).tolist() == one.path(0).tolist()


def test_the_landing_mask_leaves_the_nearest_allowed_gateway(hand):
    sats, ring, site, up = hand["geometry"]
    router = _router("nearest", site, up, ring)
    only_far = np.array([False, True])  # in the order of router.gateways: near, far
    assert router.gateways.tolist() == [GW_NEAR, GW_FAR]
    step = router.route(sats, [TERMINAL], [-1], landing=only_far)
    assert (step.gateway[0], step.dst[0]) == (GW_FAR, POP_FAR)
    want = hand["space_far"][TERMINAL] + _fibre_ms(GW_FAR, POP_FAR)
    assert step.rtt_ms[0] == pytest.approx(2 * want, abs=ONE_NS_MS)
    given = router.route(sats, [TERMINAL], [POP_WEST], landing=only_far)
    assert (given.gateway[0], given.dst[0]) == (GW_FAR, POP_WEST)
    want = hand["space_far"][TERMINAL] + _fibre_ms(GW_FAR, POP_WEST)
    assert given.rtt_ms[0] == pytest.approx(2 * want, abs=ONE_NS_MS)
    none = router.route(sats, [TERMINAL], [-1], landing=np.array([False, False]))
    assert np.isnan(none.rtt_ms[0]) and none.gateway[0] == -1 and none.dst[0] == -1


def test_measured_fibre_picks_the_pop_and_gives_the_delay(hand):
    sats, ring, site, up = hand["geometry"]
    fibre_km = np.array([[3000.0, np.nan],     # near gateway: only the far PoP (3,000 km of cable)
                         [120.0, 9000.0]])     # far gateway
    step = _router("nearest", site, up, ring, fibre_km=fibre_km).route(sats, [TERMINAL], [-1])
    assert (step.gateway[0], step.dst[0]) == (GW_NEAR, POP_FAR)
    want = hand["space_near"][TERMINAL] + 3000.0 * FIBRE_REFRACTIVE_INDEX / C * 1000.0
    assert step.rtt_ms[0] == pytest.approx(2 * want, abs=ONE_NS_MS)
    # No fibre at all from the near gateway: it cannot land this traffic; the far one does.
    fibre_km[0] = np.nan
    step = _router("nearest", site, up, ring, fibre_km=fibre_km).route(sats, [TERMINAL], [-1])
    assert (step.gateway[0], step.dst[0]) == (GW_FAR, POP_FAR)


def test_nearest_against_brute_force_over_every_gateway():
    """Random terminals, gateways, PoPs, fibre and landing rights under a Walker shell: the space delay to every
    gateway from an independent isl-mode search (terminal -> gateway), then the choice made by hand."""
    from leosim.ground.geodesy import enu_basis, geodetic_to_ecef
    from leosim.network.links import plus_grid_isls
    from synthetic import walker_ecef_km

    pos, plane, slot = walker_ecef_km(24, 16, 550.0, 53.0, 1234.0)
    isls = plus_grid_isls(np.zeros_like(plane), plane, slot)
    rng = np.random.default_rng(12)
    kinds = np.array(["terminal"] * 20 + ["gateway"] * 8 + ["pop"] * 4)
    lat, lon = rng.uniform(-45, 45, kinds.size), rng.uniform(-60, 60, kinds.size)
    site, up = geodetic_to_ecef(lat, lon, 0.0), enu_basis(lat, lon)[..., 2, :]
    terminals, gateways, pops = (np.flatnonzero(kinds == k) for k in ("terminal", "gateway", "pop"))
    fibre_km = rng.uniform(100, 4000, (gateways.size, pops.size))
    fibre_km[0, :] = np.nan          # gateway 0 reaches no PoP: never chosen
    fibre_km[1, 2] = np.nan          # gateway 1 cannot reach PoP 2
    landing = np.ones(gateways.size, bool)
    landing[3] = False
    user = Router(site, kinds, mode="user", isls=isls, site_up=up, min_elevation_deg=25.0, fibre_km=fibre_km,
                  gateway_selection="nearest")
    isl = Router(site, kinds, mode="isl", isls=isls, site_up=up, min_elevation_deg=25.0)
    t, g = (x.ravel() for x in np.meshgrid(terminals, gateways, indexing="ij"))
    space_ms = isl.route(pos, t, g).one_way_ms.reshape(terminals.size, gateways.size)
    fibre_ms = np.where(np.isnan(fibre_km), np.inf, fibre_km * FIBRE_REFRACTIVE_INDEX / C * 1000.0)
    for q in (None, 2):
        reach = np.isfinite(fibre_ms).any(axis=1) if q is None else np.isfinite(fibre_ms[:, q])
        allowed = np.where(landing & reach, np.nan_to_num(space_ms, nan=np.inf), np.inf)
        best = np.argmin(allowed, axis=1)
        ok = np.isfinite(allowed.min(axis=1))
        assert ok.sum() >= 15  # most terminals see a gateway through the shell at this instant
        pop = np.argmin(fibre_ms[best], axis=1) if q is None else np.full(terminals.size, q)
        want_ms = 2 * (space_ms[np.arange(terminals.size), best] + fibre_ms[best, pop])
        dst = np.full(terminals.size, -1 if q is None else pops[q])
        step = user.route(pos, terminals, dst, landing=landing)
        np.testing.assert_array_equal(np.isfinite(step.rtt_ms), ok)
        np.testing.assert_array_equal(step.gateway[ok], gateways[best[ok]])
        np.testing.assert_array_equal(step.dst[ok], pops[pop[ok]])
        np.testing.assert_allclose(step.rtt_ms[ok], want_ms[ok], rtol=0, atol=ONE_NS_MS)
    # Never faster than the lowest-RTT route, which minimises the same sum over every gateway and PoP.
    low = Router(site, kinds, mode="user", isls=isls, site_up=up, min_elevation_deg=25.0,
                 fibre_km=fibre_km).route(pos, terminals, np.full(terminals.size, -1), landing=landing)
    near = user.route(pos, terminals, np.full(terminals.size, -1), landing=landing)
    both = np.isfinite(low.rtt_ms)
    assert (near.rtt_ms[both] >= low.rtt_ms[both] - ONE_NS_MS).all()


def test_bad_gateway_selection_is_an_input_error(hand):
    _sats, ring, site, up = hand["geometry"]
    with pytest.raises(LeosimInputError, match="unknown gateway selection 'closest'") as error:
        _router("closest", site, up, ring)
    assert error.value.field == "gateway_selection"
    with pytest.raises(LeosimInputError, match="user mode only") as error:
        Router(site, KINDS, mode="isl", isls=ring, site_up=up, min_elevation_deg=MASK_DEG,
               gateway_selection="nearest")
    assert error.value.field == "gateway_selection"


def test_the_scenario_key_takes_the_routers_values():
    from leosim.scenario.schema import NetworkSpec

    assert typing.get_args(NetworkSpec.model_fields["gateway_selection"].annotation) == GATEWAY_SELECTIONS
    assert NetworkSpec().gateway_selection == "lowest-rtt"


# A terminal in Kyiv with a gateway 30 km away, and a gateway next to the only PoP, in Madrid (~2,900 km).
SCENARIO = """\
[scenario]
name = "landing"
[constellation]
preset = "starlink-gen1"
[time]
start = 2024-10-25T06:00:00Z
duration_s = 60
step_s = 60
[network]
routing = "user"
gateway_selection = "{selection}"
[policy]
default_state = "active"
[ground]
gateways = "gw.csv"
pops = "pop.csv"
[[sites]]
id = "kyiv"
name = "Kyiv"
lat = 50.45
lon = 30.52
[analyses]
whatif = false
cost = false
[output]
report = false
"""


GATEWAYS_CSV = "gw-kyiv,Kyiv gateway,50.30,30.90,gateway\ngw-madrid,Madrid gateway,40.50,-3.60,gateway\n"
POPS_CSV = "pop-mad,Madrid,40.42,-3.70,pop\n"
HEADER = "id,name,lat,lon,kind\n"


@pytest.mark.parametrize("selection", GATEWAY_SELECTIONS)
def test_a_scenario_lands_where_its_key_says(tmp_path, selection):
    from leosim.scenario import Scenario
    from leosim.service.access import access_at

    (tmp_path / "gw.csv").write_text(HEADER + GATEWAYS_CSV)
    (tmp_path / "pop.csv").write_text(HEADER + POPS_CSV)
    scenario = Scenario.from_text(SCENARIO.format(selection=selection), base_dir=tmp_path, source="landing.toml")
    answer = access_at(site="kyiv", at="2024-10-25T06:00:00Z", scenario=scenario)
    assert answer["routable"] and answer["pop"] == "pop-mad"
    assert answer["gateway"] == {"nearest": "gw-kyiv", "lowest-rtt": "gw-madrid"}[selection]
    access = scenario.run()["access"]
    assert set(access["gateway"]) == {answer["gateway"]}
    assert access["rtt_ms"].iloc[0] == pytest.approx(answer["rtt_ms"], abs=ONE_NS_MS)


def test_a_sweep_may_compare_the_selections():
    from leosim.scenario.schema import ScenarioSpec, SweepVariantSpec
    from leosim.scenario.sweep import variant_spec

    spec = ScenarioSpec.model_validate({"scenario": {"name": "s"}, "constellation": {"preset": "starlink-gen1"},
                                        "time": {"start": "2024-10-25T06:00:00Z", "duration_s": 60, "step_s": 60},
                                        "sites": [{"name": "Kyiv", "lat": 50.45, "lon": 30.52}]})
    variant = SweepVariantSpec(name="near", set={"network.gateway_selection": "nearest"})
    assert variant_spec(spec, variant, 0, "s.toml").network.gateway_selection == "nearest"


def test_cli_rtt_gateway_selection(tmp_path):
    import pandas as pd
    from click.testing import CliRunner

    from leosim.cli import main

    sites = tmp_path / "sites.csv"
    sites.write_text(HEADER + "kyiv,Kyiv,50.45,30.52,terminal\n" + GATEWAYS_CSV + POPS_CSV)
    n_sat = 4408  # starlink-gen1; site j is node n_sat + j (Hypatia numbering)
    rows = {}
    for selection in GATEWAY_SELECTIONS:
        out = tmp_path / f"{selection}.csv"
        result = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-gen1", "--sites", str(sites),
                                           "--pair", "kyiv", "pop", "--mode", "user", "--gateway-selection",
                                           selection, "--start", "2024-10-25T06:00:00Z", "--duration", "60",
                                           "--step", "60", "--out", str(out)])
        assert result.exit_code == 0, result.output
        rows[selection] = pd.read_csv(out).iloc[0]
    gateway = {k: int(str(r["path"]).split()[-2]) - n_sat for k, r in rows.items()}
    assert gateway == {"lowest-rtt": 2, "nearest": 1}  # site 1: the Kyiv gateway, site 2: Madrid's
    assert rows["nearest"]["rtt_ms"] > rows["lowest-rtt"]["rtt_ms"]  # lowest-rtt is the least RTT by definition
    bad = CliRunner().invoke(main, ["rtt", "--constellation", "starlink-gen1", "--sites", str(sites), "--pair",
                                    "kyiv", "pop-mad", "--gateway-selection", "nearest", "--duration", "1",
                                    "--step", "1", "--out", str(tmp_path / "x.csv")])
    assert bad.exit_code == 2 and "--gateway-selection" in bad.output
