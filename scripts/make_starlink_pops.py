"""Rebuild leosim/ground/data/starlink_pops.csv and starlink_pop_assignment.csv from a local clone of
https://github.com/clarkzjw/starlink-geoip-data (Starlink's GeoIP feed with the DNS PTR record of every
subnet, archived several times a day since 2024-08-05).

    git clone https://github.com/clarkzjw/starlink-geoip-data ../starlink-geoip-data   (~660 MB)
    python scripts/make_starlink_pops.py ../starlink-geoip-data [--every-days 7] [--out src/leosim/ground/data]

What is taken, and why it may be shipped: the repository has no licence file, so none of its files or notes
are copied. Only facts are derived: which PoP code (from Starlink's own PTR records, e.g.
``customer.frntdeu1.pop.starlinkisp.net``) serves which country's subnets, how many IPv4 addresses that is,
and the date a PoP code first appears; a PoP's city and its coordinates (rounded to 0.01 deg, the city, not
the building) come from ``map/pop.json``. Each row records its source.

* PoPs: every code in ``map/pop.json`` with a city (placeholders such as ``rdmdwax3`` staging, ships and
  unknowns are left out); ``first_seen`` = the first sampled snapshot whose PTR records name it.
* Assignment: one snapshot per ``--every-days`` (the first of each period): per country (ISO alpha-2 in the
  feed, converted to alpha-3 with pycountry) and PoP, the IPv4 addresses of the subnets pointing there.
  IPv6 prefixes are not counted (a dish gets one public IPv4 address; its IPv6 prefix is a delegation).

Needs ``pycountry`` (``pip install pycountry``; not a run-time dependency of leosim).
"""

from __future__ import annotations

import argparse
import csv
import ipaddress
import json
import re
from collections import defaultdict
from pathlib import Path

PTR = re.compile(r"customer\.([a-z0-9]+)\.(?:pop\.starlinkisp\.net|isp\.starlink\.com)\.?$")
SNAPSHOT = re.compile(r"geoip-(?:pops-ptr-)?(\d{8})-\d{4}\.(json|csv)$")
PLACEHOLDERS = {"rdmdwax3", "rdmdwax3rk3", "sea", "strespx2", "rcxship1", "rcxship2", "rcxship3", "spxship1", "mc"}
"""PoP-like codes that are not places: staging, ships, unknown (map/pop.json notes)."""


def _snapshots(root: Path) -> list[tuple[str, Path]]:
    found = {}
    for path in sorted((root / "geoip").rglob("geoip-*")):
        m = SNAPSHOT.search(path.name)
        if m:
            day = f"{m.group(1)[:4]}-{m.group(1)[4:6]}-{m.group(1)[6:]}"
            found.setdefault(day, path)  # the first snapshot of the day
    return sorted(found.items())


def _rows(path: Path):
    """(cidr, country alpha-2, pop code or None) of every subnet of one snapshot (JSON or CSV format)."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as f:
            for r in csv.DictReader(f):
                m = PTR.match(r.get("dns_ptr") or "")
                yield r["cidr"], r["country"], m.group(1) if m else None
        return
    data = json.loads(path.read_text(encoding="utf-8"))
    for country, regions in data.get("valid", {}).items():
        for cities in regions.values():
            for city in cities.values():
                for cidr, ptr in city.get("ips", []):
                    m = PTR.match(ptr or "")
                    yield cidr, country, m.group(1) if m else None


def _alpha2(name: str) -> str:
    """ISO alpha-2 of a country as map/pop.json names it ('Germany', 'USA', 'UK'), '' if unknown."""
    import pycountry

    try:
        return pycountry.countries.lookup({"UK": "GB"}.get(name, name)).alpha_2
    except LookupError:
        return ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clone", type=Path)
    parser.add_argument("--every-days", type=int, default=7)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "src/leosim/ground/data")
    args = parser.parse_args()
    import datetime as dt

    import pycountry

    alpha3 = {c.alpha_2: c.alpha_3 for c in pycountry.countries}
    pops = {p["code"]: p for p in json.loads((args.clone / "map/pop.json").read_text(encoding="utf-8"))
            if p.get("code") and p["code"] not in PLACEHOLDERS and p.get("city") not in ("Unknown", "Staging")}
    first_seen: dict[str, str] = {}
    assignment: dict[tuple[str, str, str], int] = defaultdict(int)
    last = None
    for day, path in _snapshots(args.clone):
        date = dt.date.fromisoformat(day)
        sampled = last is None or (date - last).days >= args.every_days
        for cidr, country, code in _rows(path):
            if code is None or code not in pops:
                continue
            first_seen.setdefault(code, day)
            net = ipaddress.ip_network(cidr, strict=False)
            if sampled and net.version == 4 and country in alpha3:
                assignment[(day, alpha3[country], code)] += net.num_addresses
        if sampled:
            last = date
    with (args.out / "starlink_pops.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "name", "country", "lat", "lon", "facility_type", "first_seen", "source"])
        for code in sorted(pops):
            p = pops[code]
            seen = first_seen.get(code, "")
            w.writerow([code, p["city"], _alpha2(p.get("country", "")), f"{float(p['lat']):.2f}",
                        f"{float(p['lon']):.2f}", p.get("type", ""), seen, "geoip-ptr" if seen else "pop-map"])
    with (args.out / "starlink_pop_assignment.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["snapshot", "country", "pop", "ipv4_addresses"])
        for key in sorted(assignment):
            w.writerow([*key, assignment[key]])
    print(f"{len(pops)} PoPs, {len(assignment)} assignment rows from {len(_snapshots(args.clone))} days of snapshots")


if __name__ == "__main__":
    main()
