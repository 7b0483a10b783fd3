"""CLI command ``leosim capacity``: one slot of the capacity model, summarised per territory and fleet."""

from __future__ import annotations

import json

import click

from ..errors import LeosimInputError


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(capacity)


@click.command()
@click.option("--scenario", "scenario_file", required=True, type=click.Path(dir_okay=False),
              help="A scenario with a [capacity] section.")
@click.option("--at", "at", required=True, help="Instant, ISO 8601 UTC (or 'now'); the slot holding it is used.")
@click.option("--variant", "variant", default="baseline", show_default=True,
              help="Policy variant: 'baseline' or a [[whatif]] name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (keys: time_utc, slot_utc, variant, summary, "
              "gateways).")
def capacity(scenario_file, at, variant, as_json):
    """Demand, served share and speed-test Mbps per territory and fleet at one slot (docs/capacity.md)."""
    import numpy as np

    from ..capacity.tables import capacity_summary
    from ..service.capacity import slot_at
    from ..timebase import Times, parse_utc
    from .access import _load_scenario

    scenario = _load_scenario(scenario_file)
    plan = scenario.plan
    service = plan.capacity_service
    if service is None:
        raise LeosimInputError("the scenario has no [capacity] section", source=scenario_file, field="capacity")
    names = [v.name for v in plan.variants]
    if variant not in names:
        raise LeosimInputError(f"unknown variant {variant!r}; accepted: {', '.join(names)}", field="--variant")
    book = plan.rule_books[names.index(variant)]
    instant = parse_utc(at)
    slot = slot_at(instant, service.params)
    position = plan.constellation.states(Times.from_utc([slot]), knot_spacing_s=0.0).position_km[0]
    frames = service.frames(slot, position, [book], [variant])
    summary = capacity_summary(frames["throughput"])
    gateways = frames["gateway_load"]
    gateways = gateways[gateways["load_mbps"] > 0].sort_values("load_mbps", ascending=False)
    if as_json:
        def clean(records):
            return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in r.items()}
                    for r in records]

        click.echo(json.dumps({
            "time_utc": str(np.datetime_as_string(instant.astype("datetime64[ms]"), unit="ms")) + "Z",
            "slot_utc": str(np.datetime_as_string(slot.astype("datetime64[ms]"), unit="ms")) + "Z",
            "variant": variant,
            "summary": clean(summary.to_dict(orient="records")),
            "gateways": clean(gateways[["gateway", "load_mbps", "capacity_mbps"]].to_dict(orient="records")),
        }, indent=2))
        return
    click.echo(f"slot {np.datetime_as_string(slot.astype('datetime64[ms]'), unit='s')}Z ({variant})")
    click.echo(f"{'scope':<10} {'key':<24} {'terminals':>10} {'demand':>8} {'served':>7} {'p5 Mbps':>8} "
               f"{'median':>8} {'at cap':>7}")
    for row in summary.itertuples(index=False):
        def fmt(v, width, suffix=""):
            return (format(v, ".1f") + suffix if np.isfinite(v) else "-").rjust(width)

        click.echo(f"{row.scope:<10} {(row.key or '(subscribers)')[:24]:<24} {row.terminals:>10,.0f} "
                   f"{fmt(row.mean_demand_mbps, 8)} {fmt(100 * row.served_fraction, 7, '%')} "
                   f"{fmt(row.p5_mbps, 8)} {fmt(row.median_mbps, 8)} {fmt(100 * row.at_capacity_frac, 7, '%')}")
    if len(gateways):
        top = gateways.iloc[0]
        click.echo(f"busiest gateway: {top['gateway']} {top['load_mbps']:,.0f} of {top['capacity_mbps']:,.0f} Mbps")
