"""A scenario's moving terminals and terminal registry, read from the files and tables it names.

* :func:`site_tracks`: the :class:`~leosim.ground.tracks.Track` of each ``[[sites]]`` entry with a
  ``track`` file or a generated ``route``, keyed by site id (the entry's ``id``, else the slug of its
  name, as :class:`~leosim.ground.sites.Sites` makes ids);
* :func:`scenario_registry`: the :class:`~leosim.policy.registry.TerminalRegistry` of ``[registry]``
  (files, inline ``[[registry.terminals]]`` and synthesised fleets) and the synthesised terminals'
  positions, fleets and groups.

Errors name the scenario file and the key path (``sites[7].track``, ``registry.files[0]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import LeosimInputError
from ..ground.sites import _slugify
from ..ground.tracks import Track
from ..policy.registry import TerminalRegistry, synthesise_fleet
from .schema import ScenarioSpec


def _instant(value):
    import datetime as dt

    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime(value.year, value.month, value.day)
    return value


def site_tracks(spec: ScenarioSpec, *, base_dir, source: str = "<scenario>") -> dict[str, Track]:
    """Tracks of the moving ``[[sites]]``, by site id, in file order."""
    out: dict[str, Track] = {}
    for i, site in enumerate(spec.sites):
        if site.track is None and site.route is None:
            continue
        ident = site.id or _slugify(site.name)
        try:
            if site.track is not None:
                track = Track.read(Path(base_dir) / site.track, kind=site.track_kind)
            else:
                route = site.route
                track = Track.route(route.waypoints, speed_kmh=route.speed_kmh, start=_instant(route.start),
                                    kind=site.track_kind, alt_m=route.alt_m, source=f"sites[{i}].route")
        except LeosimInputError as error:
            if site.track is not None:
                raise
            raise LeosimInputError(error.message, source=source, field=f"sites[{i}].route.{error.field}") from None
        out[ident] = track
    return out


@dataclass(frozen=True)
class SyntheticTerminals:
    """Terminals of ``[[registry.synthetic]]`` fleets: ids, positions (degrees), fleets and groups, (M,)."""

    terminal_id: np.ndarray
    lat_deg: np.ndarray
    lon_deg: np.ndarray
    fleet: np.ndarray
    group: np.ndarray


def scenario_registry(spec: ScenarioSpec, *, base_dir, territories=None, source: str = "<scenario>"
                      ) -> tuple[TerminalRegistry, SyntheticTerminals]:
    """The registry of ``[registry]`` and its synthesised terminals. ``territories`` (a
    :class:`~leosim.territory.Territories`, default Natural Earth) resolves synthetic fleets' areas."""
    section = spec.registry
    parts = []
    for i, name in enumerate(section.files):
        path = Path(base_dir) / name
        if not path.is_file():
            raise LeosimInputError("registry file not found", source=source, field=f"registry.files[{i}]")
        parts.append(TerminalRegistry.read(path))
    if section.terminals:
        rows = [{k: _instant(v) for k, v in entry.model_dump().items() if v is not None}
                for entry in section.terminals]
        try:
            parts.append(TerminalRegistry.from_rows(rows, source=source))
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source, field=f"registry.{error.field}") from None
    ids, lats, lons, fleets, groups = [], [], [], [], []
    for i, fleet in enumerate(section.synthetic):
        where = f"registry.synthetic[{i}]"
        if fleet.territory is not None:
            if territories is None:
                from ..territory import Territories

                territories = Territories.default()
            _, key = territories.resolve(fleet.territory, field=f"{where}.territory")
            area = territories.geometry(key)
        else:
            area = tuple(fleet.box)
        try:
            registry, lat, lon = synthesise_fleet(fleet.count, area=area, share_registered=fleet.share_registered,
                                                  seed=fleet.seed, country=fleet.country, plan=fleet.plan,
                                                  owner=fleet.owner, tenant=fleet.tenant,
                                                  registered_on=_instant(fleet.registered_on),
                                                  id_prefix=fleet.id_prefix)
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source, field=f"{where}.{error.field}") from None
        parts.append(registry)
        ids.append(registry.terminal_id)
        lats.append(lat)
        lons.append(lon)
        fleets.append(np.full(fleet.count, fleet.fleet))
        groups.append(np.full(fleet.count, fleet.group))
    try:
        merged = TerminalRegistry.concat(parts)
    except LeosimInputError as error:
        raise LeosimInputError(error.message, source=source, field="registry") from None

    def cat(arrays, dtype):
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros(0, dtype=dtype)

    synthetic = SyntheticTerminals(cat(ids, str), cat(lats, np.float64), cat(lons, np.float64), cat(fleets, str),
                                   cat(groups, str))
    return merged, synthetic
