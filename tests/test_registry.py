"""The terminal registry: files, validation with file/line/field, and synthesised fleets."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from leosim.errors import LeosimInputError
from leosim.policy.registry import TerminalRegistry, synthesise_fleet


def test_csv_and_toml_give_the_same_registry(tmp_path):
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("# whitelist as of Feb 2026 (illustrative)\n"
                        "terminal_id,owner,tenant,country,plan,registered_on\n"
                        "T-1,unit A,MoD,ukr,Military,2026-01-20\n"
                        "T-2,Ivan,,UKR,residential,\n")
    toml_path = tmp_path / "r.toml"
    toml_path.write_text('[[terminals]]\nterminal_id = "T-1"\nowner = "unit A"\ntenant = "MoD"\ncountry = "UKR"\n'
                         'plan = "military"\nregistered_on = 2026-01-20\n\n'
                         '[[terminals]]\nterminal_id = "T-2"\nowner = "Ivan"\ncountry = "UKR"\nplan = "residential"\n')
    for registry in (TerminalRegistry.read(csv_path), TerminalRegistry.read(toml_path)):
        assert registry.terminal_id.tolist() == ["T-1", "T-2"]
        assert registry.country.tolist() == ["UKR", "UKR"] and registry.plan.tolist() == ["military", "residential"]
        columns = registry.columns(["T-2", "T-9", "T-1"])
        assert columns["listed"].tolist() == [True, False, True]
        assert columns["plan"].tolist() == ["residential", "", "military"]
        at = np.array(["2026-01-19", "2026-01-20", "2026-02-03"], dtype="datetime64[ns]")
        assert registry.registered(["T-1", "T-2", "T-9"], at).tolist() == [[False, True, True], [False] * 3,
                                                                             [False] * 3]


@pytest.mark.parametrize(("text", "line", "field", "words"), [
    ("owner,plan\nA,roam\n", 1, "terminal_id", "missing column"),
    ("terminal_id,colour\nT-1,red\n", 1, "colour", "unknown column"),
    ("terminal_id,country\nT-1,UKR\n\nT-2,Ukraine\n", 4, "country", "alpha-3"),
    ("terminal_id,registered_on\nT-1,3 Feb\n", 2, "registered_on", "ISO 8601"),
    ("terminal_id\nT-1\nT-1\n", 3, "terminal_id", "listed twice (first line 2)"),
    ("terminal_id,plan\n,roam\n", 2, "terminal_id", "empty"),
])
def test_bad_registry_rows_name_file_line_and_field(tmp_path, text, line, field, words):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(LeosimInputError) as info:
        TerminalRegistry.read(path)
    assert (info.value.source, info.value.line, info.value.field) == (str(path), line, field)
    assert words in info.value.message


def test_bad_toml_registry_names_the_entry(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[[terminals]]\nterminal_id = "T-1"\n[[terminals]]\nterminal_id = "T-2"\nplna = "roam"\n')
    with pytest.raises(LeosimInputError) as info:
        TerminalRegistry.read(path)
    assert info.value.field == "terminals[1].plna"


def test_synthesised_fleet_is_deterministic_inside_its_area_and_registers_the_stated_share():
    # A triangle over eastern Ukraine (lon/lat degrees).
    area = shapely.Polygon([(35.0, 47.0), (39.0, 47.0), (37.0, 50.0)])
    registry, lat, lon = synthesise_fleet(1000, area=area, share_registered=0.3, seed=7, country="UKR",
                                          plan="military", registered_on="2026-01-15")
    again = synthesise_fleet(1000, area=area, share_registered=0.3, seed=7, country="UKR", plan="military",
                             registered_on="2026-01-15")
    np.testing.assert_array_equal(lat, again[1])
    np.testing.assert_array_equal(registry.registered_on, again[0].registered_on)
    assert shapely.contains_xy(area, lon, lat).all()
    assert (~np.isnat(registry.registered_on)).sum() == 300
    assert registry.terminal_id[0] == "T-0001" and len(set(registry.terminal_id.tolist())) == 1000
    assert set(registry.country.tolist()) == {"UKR"} and set(registry.plan.tolist()) == {"military"}
    other = synthesise_fleet(1000, area=area, share_registered=0.3, seed=8)[1]
    assert not np.array_equal(lat, other)
    # Uniform by area: 3/4 of the triangle lies south of the line at half its height (the northern part is a
    # similar triangle of half the size); cos(latitude) changes by 6% over it, shifting that by < 1%. The
    # sample share follows within 4 binomial standard deviations.
    south = (lat < 48.5).mean()
    assert abs(south - 0.75) < 4 * np.sqrt(0.75 * 0.25 / 1000)
