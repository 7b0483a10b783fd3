"""Measured terrestrial fibre between gateways and PoPs.

By default the gateway → PoP leg is the great-circle distance at c / 1.468. A fibre table replaces it
for the pairs it lists: a CSV with a header and the columns ``gateway``, ``pop`` (site ids or names) and
``distance_km`` (the route length of the fibre, km; empty means the two are not connected). Pairs the
table does not list keep the great-circle distance.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError
from .references import great_circle_km

FIBRE_COLUMNS = ("gateway", "pop", "distance_km")


def fibre_matrix_km(path, sites) -> np.ndarray:
    """``(G, Q)`` fibre distances, km, from each gateway to each PoP of ``sites`` (both in site order).

    Listed pairs take the table's distance (NaN where it is empty: not connected); the others the
    great-circle distance. Bad rows raise :class:`LeosimInputError` naming the file, line and column.
    """
    path = Path(path)
    gateways = np.flatnonzero(sites.kinds == "gateway")
    pops = np.flatnonzero(sites.kinds == "pop")
    g, q = np.meshgrid(gateways, pops, indexing="ij")
    matrix = great_circle_km(sites.lat_deg[g], sites.lon_deg[g], sites.lat_deg[q], sites.lon_deg[q])
    row_of = {int(s): k for k, s in enumerate(gateways)}
    column_of = {int(s): k for k, s in enumerate(pops)}
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle)
            header = [h.strip().lower() for h in next(reader, [])]
            missing = [c for c in FIBRE_COLUMNS if c not in header]
            if missing:
                raise LeosimInputError(f"missing column(s) {', '.join(missing)}; expected a header with "
                                       f"{', '.join(FIBRE_COLUMNS)}", source=source, line=1)
            index = {c: header.index(c) for c in FIBRE_COLUMNS}
            seen: dict[tuple[int, int], int] = {}
            for line, row in enumerate(reader, start=2):
                if not row or not "".join(row).strip():
                    continue
                cells = {c: (row[i].strip() if i < len(row) else "") for c, i in index.items()}
                gateway = _site(sites, cells["gateway"], "gateway", row_of, source, line)
                pop = _site(sites, cells["pop"], "pop", column_of, source, line)
                if (gateway, pop) in seen:
                    raise LeosimInputError(f"the pair is already given on line {seen[(gateway, pop)]}",
                                           source=source, line=line, field="gateway/pop")
                seen[(gateway, pop)] = line
                matrix[row_of[gateway], column_of[pop]] = _distance(cells["distance_km"], source, line)
    except FileNotFoundError:
        raise LeosimInputError("fibre table not found", source=source) from None
    except IsADirectoryError:
        raise LeosimInputError("is a directory, not a fibre table", source=source) from None
    except UnicodeDecodeError:
        raise LeosimInputError("not a UTF-8 text file", source=source) from None
    return matrix


def _site(sites, key: str, kind: str, index: dict, source: str, line: int) -> int:
    try:
        site = sites.index_of(key)
    except LeosimInputError as error:
        raise LeosimInputError(error.message, source=source, line=line, field=kind) from None
    if site not in index:
        raise LeosimInputError(f"site {key!r} is a {sites.kinds[site]}, not a {kind}", source=source, line=line,
                               field=kind)
    return site


def _distance(text: str, source: str, line: int) -> float:
    if text == "":
        return np.nan  # listed, but not connected
    try:
        value = float(text)
    except ValueError:
        raise LeosimInputError(f"{text!r} is not a number of km (or empty for 'not connected')", source=source,
                               line=line, field="distance_km") from None
    if not np.isfinite(value) or value < 0:
        raise LeosimInputError(f"distance must be a finite number of km >= 0, got {text}", source=source,
                               line=line, field="distance_km")
    return value
