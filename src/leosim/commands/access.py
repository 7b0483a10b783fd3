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
@click.option("--lat", "lat_deg", type=float, required=True, help="Latitude, degrees (WGS84).")
@click.option("--lon", "lon_deg", type=float, required=True, help="Longitude, degrees (WGS84).")
@click.option("--at", "at", required=True, help="Instant, ISO 8601 UTC (or 'now').")
@constellation_options
@click.option("--db", "db", type=click.Path(dir_okay=False),
              help="Policy store (default: $LEOSIM_DB, else the per-user data directory).")
@click.option("--min-elevation", "min_elevation_deg", type=float, default=25.0, show_default=True,
              help="Elevation mask of the terminal, degrees.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys: territory, visible_sats, covered, "
              "routable, rtt_ms, gateway, pop, allowed, rule).")
@click.option("--pop-assignment", "pop_assignment", type=click.Choice(["nearest", "published"]), default="nearest",
              show_default=True, help="nearest: the best PoP; published: the PoP Starlink's GeoIP feed assigns the "
              "place's country at --at (shipped table), best PoP where the feed does not list it.")
@click.option("--pops", "pops", type=click.Choice(["default", "starlink"]), default="default", show_default=True,
              help="PoPs: the shipped 23 (default) or the GeoIP feed's PoPs seen by --at (starlink).")
def access(lat_deg, lon_deg, at, constellation, tle, db, min_elevation_deg, as_json, pop_assignment, pops):
    """Territory, satellites in view, route to a PoP and the policy verdict for one place and instant.

    The constellation defaults to starlink-gen1; policy rules come from the store (terminals with no
    applicable rule are denied; gateways land traffic unless their territory is denied).
    """
    from ..access import access_at
    from ..orbits.constellation import Constellation
    from ..policy.store import PolicyStore
    from ._options import load_constellation

    if not -90.0 <= lat_deg <= 90.0 or not -180.0 <= lon_deg <= 180.0:
        raise LeosimInputError(f"latitude must be within ±90 and longitude within ±180, got {lat_deg}, {lon_deg}",
                               field="--lat/--lon")
    if not 0.0 <= min_elevation_deg <= 90.0:
        raise LeosimInputError(f"must be within 0..90 degrees, got {min_elevation_deg}", field="--min-elevation")
    sats = (Constellation.preset("starlink-gen1") if constellation is None and tle is None
            else load_constellation(constellation, tle))
    import os

    named = db is not None or bool(os.environ.get("LEOSIM_DB"))
    with PolicyStore(db, must_exist=named) as store:  # a mistyped path is an error, not "no rules"
        rules = store.rules()
    ground = None
    if pops == "starlink":
        from ..ground.pops import starlink_pops
        from ..ground.sites import Sites, default_gateways
        from ..timebase import parse_utc

        ground = Sites.concat([default_gateways(), starlink_pops(as_of=parse_utc(at, source="--at"))[0]])
    answer = access_at(lat_deg, lon_deg, at, constellation=sats, rules=rules, min_elevation_deg=min_elevation_deg,
                       ground=ground, pop_assignment=pop_assignment)
    if as_json:
        click.echo(json.dumps(answer, indent=2))
        return
    yes = {True: "yes", False: "no"}
    click.echo(f"place        {lat_deg:.4f}, {lon_deg:.4f} at {answer['time_utc']}")
    click.echo(f"territory    {answer['territory'] or '(open sea)'}")
    click.echo(f"in view      {answer['visible_sats']} satellites (mask {min_elevation_deg:g}°)")
    click.echo(f"covered      {yes[answer['covered']]}")
    route = (f"{answer['rtt_ms']:.1f} ms via {answer['gateway']} to {answer['pop']}" if answer["routable"]
             else "none")
    click.echo(f"routable     {yes[answer['routable']]} ({route})")
    click.echo(f"PoP, why     {answer['pop_reason']}")
    click.echo(f"allowed      {yes[answer['allowed']]}  [{answer['rule']}]")
