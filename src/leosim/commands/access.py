"""CLI command ``leosim access``: what one place gets at one instant."""

from __future__ import annotations

import json

import click

from ..errors import LeosimInputError
from ._options import constellation_options


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(access)


@click.command()
@click.option("--lat", "lat_deg", type=float, help="Latitude, degrees (WGS84).")
@click.option("--lon", "lon_deg", type=float, help="Longitude, degrees (WGS84).")
@click.option("--site", "site", help="With --scenario: one of its sites (id or name) instead of --lat/--lon.")
@click.option("--at", "at", required=True, help="Instant, ISO 8601 UTC (or 'now').")
@click.option("--scenario", "scenario_file", type=click.Path(dir_okay=False),
              help="Answer with this scenario's constellation, network, ground, regions, rules and default "
                   "states (as `leosim run` does).")
@constellation_options
@click.option("--db", "db", type=click.Path(dir_okay=False),
              help="Policy store whose rules are added (without --scenario: default $LEOSIM_DB, else the "
                   "per-user data directory).")
@click.option("--min-elevation", "min_elevation_deg", type=float, default=None,
              help="Elevation mask of the terminal, degrees [default: 25, or the scenario's].")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys: territory, visible_sats, covered, "
              "routable, rtt_ms, gateway, pop, allowed, rule, status, default_state, source, ...).")
def access(lat_deg, lon_deg, site, at, scenario_file, constellation, tle, db, min_elevation_deg, as_json):
    """Territory, satellites in view, route to a PoP and the policy verdict for one place and instant.

    With --scenario, everything comes from the scenario, and --db adds a store's rules after the
    scenario's (the precedence is the README's "Scenario and store rules"). Without it, the constellation
    defaults to starlink-gen1, the ground to the shipped gateways and PoPs, and the rules to the store's
    (terminals with no applicable rule are denied; gateways land traffic unless their territory is denied).
    """
    from ..service.access import access_at

    if site is not None and (lat_deg is not None or lon_deg is not None):
        raise LeosimInputError("give --site or --lat/--lon, not both", field="--site")
    if site is None and (lat_deg is None or lon_deg is None):
        raise LeosimInputError("give --lat and --lon (or --site with --scenario)", field="--lat/--lon")
    if site is not None and scenario_file is None:
        raise LeosimInputError("--site names a scenario's site: give --scenario too", field="--site")
    if site is None and not (-90.0 <= lat_deg <= 90.0 and -180.0 <= lon_deg <= 180.0):
        raise LeosimInputError(f"latitude must be within ±90 and longitude within ±180, got {lat_deg}, {lon_deg}",
                               field="--lat/--lon")
    if min_elevation_deg is not None and not 0.0 <= min_elevation_deg <= 90.0:
        raise LeosimInputError(f"must be within 0..90 degrees, got {min_elevation_deg}", field="--min-elevation")
    if scenario_file is not None:
        answer = _scenario_access(scenario_file, lat_deg, lon_deg, site, at, constellation, tle, db,
                                  min_elevation_deg)
    else:
        answer = access_at(lat_deg, lon_deg, at, constellation=_constellation(constellation, tle),
                           rules=_store_rules(db, required=False), min_elevation_deg=min_elevation_deg)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    _print(answer, lat_deg, lon_deg, site)


def _scenario_access(scenario_file, lat_deg, lon_deg, site, at, constellation, tle, db, min_elevation_deg):
    from ..service.access import access_at

    if constellation is not None or tle is not None or min_elevation_deg is not None:
        raise LeosimInputError("--scenario sets the constellation and the masks: leave out --constellation, "
                               "--tle and --min-elevation (or edit the scenario)", field="--scenario")
    scenario = _load_scenario(scenario_file)
    store_rules = _store_rules(db, required=True) if db is not None else ()
    try:
        return access_at(lat_deg, lon_deg, at, site=site, scenario=scenario, store_rules=store_rules)
    except LeosimInputError as error:
        if site is not None and error.field in (None, "", "site"):
            raise LeosimInputError(error.message, source=scenario_file, field="--site") from None
        raise


def _load_scenario(path):
    """The scenario in ``path``, built once per process for the same file contents (a process that asks
    many questions of one scenario, e.g. a notebook driving the CLI, reuses its plan and engine)."""
    import hashlib
    from pathlib import Path

    from ..scenario import Scenario

    file = Path(path)
    if not file.is_file():
        raise LeosimInputError(f"file not found: {file}" if not file.exists() else f"{file} is not a file",
                               field="--scenario")
    key = (str(file.resolve()), hashlib.sha256(file.read_bytes()).hexdigest())
    found = _SCENARIOS.get(key)
    if found is None:
        found = _SCENARIOS[key] = Scenario.from_toml(file)
        while len(_SCENARIOS) > _SCENARIO_CACHE_SIZE:
            _SCENARIOS.pop(next(iter(_SCENARIOS)))
    return found


_SCENARIOS: dict = {}
#: Scenarios kept by :func:`_load_scenario` (each holds its plan, engine and constellation).
_SCENARIO_CACHE_SIZE = 4


def _constellation(constellation, tle):
    from ..orbits.constellation import Constellation
    from ._options import load_constellation

    if constellation is None and tle is None:
        return Constellation.preset("starlink-gen1")
    return load_constellation(constellation, tle)


def _store_rules(db, *, required: bool):
    """The rules of the store at ``db`` (else $LEOSIM_DB, else the per-user store). A path the user named
    must exist: a mistyped path is an error, not "no rules"."""
    import os

    from ..policy.store import PolicyStore

    named = required or db is not None or bool(os.environ.get("LEOSIM_DB"))
    with PolicyStore(db, must_exist=named) as store:
        return store.rules()


def _print(answer: dict, lat_deg, lon_deg, site) -> None:
    yes = {True: "yes", False: "no"}
    where = f"site {site}" if site is not None else f"{lat_deg:.4f}, {lon_deg:.4f}"
    click.echo(f"place        {where} at {answer['time_utc']}")
    click.echo(f"territory    {answer['territory'] or '(open sea)'}")
    click.echo(f"in view      {answer['visible_sats']} satellites")
    click.echo(f"covered      {yes[answer['covered']]}")
    route = (f"{answer['rtt_ms']:.1f} ms via {answer['gateway']} to {answer['pop']}" if answer["routable"]
             else "none")
    click.echo(f"routable     {yes[answer['routable']]} ({route})")
    click.echo(f"allowed      {yes[answer['allowed']]}  [{answer['rule']}] ({answer['source']})")
    click.echo(f"status       {answer['status']}")
