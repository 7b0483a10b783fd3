"""Sweeps: the scenario run again with settings overridden (``[sweep]``), and the table comparing the runs.

Each ``[[sweep.variants]]`` entry overrides key paths of the scenario (elevation masks, gateway or PoP
files, the constellation, the ISL mode, policy defaults) and may add policy rules. Every variant becomes
its own :class:`~leosim.scenario.plan.Plan` (with its own fingerprint) whose chunks are scheduled on the
backend together with the baseline's. The ``sweep`` table compares them per territory and per site.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pydantic import ValidationError

from ..errors import LeosimInputError
from .schema import ScenarioSpec, SweepVariantSpec
from .tables import TABLE_COLUMNS

SWEEP_COLUMNS = TABLE_COLUMNS["sweep"]
"""Columns of the ``sweep`` table: per variant (``baseline`` first, then in file order), per territory
then per site (sorted by key): fraction of instants served and covered (baseline policy of that variant),
median and 95th percentile RTT to the PoP when served, ms (NaN when never served)."""

_CONSTELLATION_KEYS = ("preset", "tle", "hypatia")
_COMPARISON_COLUMNS = SWEEP_COLUMNS[1:]


def variant_spec(spec: ScenarioSpec, variant: SweepVariantSpec, index: int, source: str) -> ScenarioSpec:
    """The scenario ``spec`` with the overrides and extra rules of sweep ``variant`` applied (no sweep)."""
    data = spec.model_dump(by_alias=True, exclude={"sweep"})
    for key, value in variant.set.items():
        section, name = key.split(".", 1)
        if section == "constellation":  # one source of orbits: the override replaces the others
            for other in _CONSTELLATION_KEYS:
                data["constellation"][other] = None
        data[section][name] = value
    data["policy"]["rules"] = [*data["policy"]["rules"], *(r.model_dump(by_alias=True) for r in variant.rules)]
    try:
        return ScenarioSpec.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise LeosimInputError(f"variant {variant.name!r}: {first['msg']} (at {where})", source=source,
                               field=f"sweep.variants[{index}]") from None


def variant_text(base_text: str, variant: SweepVariantSpec) -> str:
    """The text hashed into a variant plan's fingerprint: the scenario file plus the variant's overrides."""
    overrides = json.dumps(variant.model_dump(mode="json", by_alias=True), sort_keys=True)
    return f"{base_text}\n# sweep variant {overrides}\n"


def served_comparison(access: pd.DataFrame, sites: pd.DataFrame) -> pd.DataFrame:
    """Per territory and per site (baseline policy rows of ``access``): service and coverage fractions and
    the RTT when served; columns :data:`SWEEP_COLUMNS` without ``variant``."""
    base = access[access["variant"] == "baseline"].merge(sites[["site_id", "name", "territory"]], on="site_id",
                                                         how="left")
    rows = []
    for scope, key_column in (("territory", "territory"), ("site", "site_id")):
        for key, part in base.groupby(key_column, sort=True):
            served = part["status"].to_numpy() == "ok"
            rtt = part["rtt_ms"].to_numpy(dtype=np.float64)[served]
            rows.append({"scope": scope, "key": str(key),
                         "name": str(part["name"].iloc[0]) if scope == "site" else str(key),
                         "service_frac": float(served.mean()), "covered_frac": float(part["covered"].mean()),
                         "median_rtt_ms": float(np.median(rtt)) if rtt.size else np.nan,
                         "p95_rtt_ms": float(np.percentile(rtt, 95)) if rtt.size else np.nan})
    return pd.DataFrame(rows, columns=list(_COMPARISON_COLUMNS))


def sweep_table(comparisons: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """The ``sweep`` table from each variant's :func:`served_comparison` (in variant order)."""
    frames = []
    for variant, frame in comparisons.items():
        if frame.empty:
            continue
        order = np.lexsort((frame["key"].to_numpy(), frame["scope"].map({"territory": 0, "site": 1}).to_numpy()))
        frames.append(frame.iloc[order].assign(variant=variant))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in SWEEP_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(SWEEP_COLUMNS)]
