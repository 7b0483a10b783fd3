"""Result tables that depend on the plan alone, not on the chunks: the sites, and the service state of
every territory at the window's start."""

from __future__ import annotations

import numpy as np
import pandas as pd


def sites_table(plan) -> pd.DataFrame:
    """The ``sites`` table: every site with its territory, region, fleet and group."""
    sites, attrs = plan.sites, plan.site_attributes
    return pd.DataFrame({"site_id": sites.ids.astype(str), "name": sites.names.astype(str),
                         "kind": sites.kinds.astype(str), "lat_deg": sites.lat_deg, "lon_deg": sites.lon_deg,
                         "country": sites.country.astype(str), "territory": attrs["territory"],
                         "region": attrs["region"], "fleet": attrs["fleet"], "group": attrs["group"]})


def territory_state_table(plan, variant_index: int = 0) -> pd.DataFrame:
    """Service state of every country and custom region at the window's start (for the map)."""
    from ..policy.rules import evaluate

    territories = plan.territories
    variant = plan.variants[variant_index]
    codes = territories.codes.astype(str)
    regions = np.array(territories.region_names, dtype=str)
    keys = np.concatenate([codes, regions])
    layer = np.array(["country"] * codes.size + ["region"] * regions.size)
    country = np.concatenate([codes, np.full(regions.size, "")])
    region = np.concatenate([np.full(codes.size, ""), regions])
    instant = plan.times[:1]
    _, rule_index = evaluate(variant.rules, territory=country, region=region, fleet=None, terminal_id=None,
                             instants=instant, default_state=plan.spec.policy.default_state, check=False)
    rule_index = rule_index[:, 0]
    rules = variant.rules
    state = np.array([rules[i].state if i >= 0 else "none" for i in rule_index.tolist()])
    rule = np.array([f"{rules[i].subject} {rules[i].state}: {rules[i].reason}" if i >= 0 else ""
                     for i in rule_index.tolist()])
    since = np.array([rules[i].valid_from if i >= 0 else np.datetime64("NaT", "ns") for i in rule_index.tolist()],
                     dtype="datetime64[ns]")
    return pd.DataFrame({"territory": keys, "layer": layer, "state": state, "rule": rule, "since": since})
