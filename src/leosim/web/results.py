"""The tables of a finished ``leosim run`` that the server answers from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError


@dataclass
class Results:
    """The tables of a scenario run the server answers from (pandas DataFrames by table name)."""

    tables: dict
    source: str

    def access_rows(self, site_id: str):
        """The baseline ``access`` rows of one site, by time (None when there is no access table)."""
        access = self.tables.get("access")
        if access is None:
            return None
        return access[access["site_id"] == site_id]

    def access_row(self, site_id: str, t: np.datetime64):
        """The baseline ``access`` row of one site at ``t``, or None."""
        rows = self.access_rows(site_id)
        if rows is None or rows.empty:
            return None
        hit = rows[rows["time_utc"].to_numpy(dtype="datetime64[ns]") == np.datetime64(t, "ns")]
        return None if hit.empty else hit.iloc[0]


def load_results(results_dir) -> Results:
    """The ``sites`` and ``access`` tables of a ``leosim run`` folder."""
    import pandas as pd

    results_dir = Path(results_dir)
    tables = {}
    for name in ("sites", "access"):
        path = results_dir / f"{name}.parquet"
        if not path.is_file():
            raise LeosimInputError(f"no {name}.parquet in the results folder", source=str(results_dir))
        tables[name] = pd.read_parquet(path)
    tables["access"] = tables["access"].sort_values(["site_id", "time_utc"], kind="stable").reset_index(drop=True)
    return Results(tables, str(results_dir))
