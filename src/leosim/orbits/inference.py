"""Structure of a real constellation inferred from its element sets: shells, planes, slots and status.

Element files (TLE/OMM) give each satellite's mean elements but not which shell, plane and slot it
belongs to. :func:`infer_structure` finds them, vectorised over satellites:

1. Every satellite's mean elements are carried to one reference epoch (the latest element epoch) with
   SGP4's secular J2 rates (``nodedot``, ``argpdot``, ``mdot``), so RAAN and phase are comparable across
   records whose epochs differ by days. Altitude is SGP4's Brouwer mean semi-major axis minus the WGS72
   equatorial radius (the mean altitude; the osculating altitude oscillates by a few km around it).
2. **Shells**: density clustering in (inclination, mean altitude). A satellite is a *core* point when at
   least ``min_core_neighbours`` others lie within ``inclination_tol_deg`` and ``altitude_tol_km`` of it
   (scaled box, k-d tree); core points closer than that are joined (connected components), and a group
   of at least ``min_shell_satellites`` above ``min_shell_altitude_km`` is a shell. A shell's inclination
   and altitude are the medians of its core points.
3. **Status**: a satellite within ``operational_inclination_tol_deg`` and ``operational_altitude_tol_km``
   of a shell is ``operational``. Off every shell: ``raising`` (below a shell of its inclination and
   launched less than ``RAISING_MAX_AGE_DAYS`` before the reference epoch), ``decaying`` (below, older),
   or ``parked`` (any other place: parking orbits, above the shell, no shell at its inclination).
   Non-operational satellites get shell, plane and slot -1: no ISLs, and, by default, no service.
4. **Planes** within a shell: RAANs sorted around the circle (the 0/360 wrap included); a new plane
   starts at every gap wider than the shell's plane gap: where the sorted gaps drop the most, and at least
   ``plane_gap_deg`` (real planes spread over a few degrees of RAAN; planes are 5-13 deg apart).
5. **Slots** within a plane: by argument of latitude ``u = argp + M`` (mean). With ``S`` = 360 deg over
   the median phase gap between neighbours in a plane (at least the median plane size), slot
   ``= round((u - u0) / (360 / S)) mod S`` where ``u0`` is the plane's circular-mean lattice offset; a
   plane where two satellites fall on the same lattice slot (more satellites than ``S``, or uneven
   spacing) is numbered by rank of ``u`` instead.

Satellite numbering of shells, planes and slots is a labelling: shells by increasing inclination then
altitude, planes by increasing RAAN from the first gap after 0 deg, slots from the lattice offset.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..constants import WGS72_RADIUS_KM

INCLINATION_TOL_DEG = 0.1
"""Half-width in inclination of the density box that finds shell cores, deg (Starlink's shells 53.0 and
53.2 deg, 10 km apart, must stay apart; element-set noise in inclination is ~0.01 deg)."""
ALTITUDE_TOL_KM = 3.0
"""Half-width in mean altitude of the density box that finds shell cores, km (station-keeping keeps an
operational Starlink satellite within ~1 km of its shell's mean altitude)."""
MIN_CORE_NEIGHBOURS = 8
"""Neighbours within the density box that make a satellite a core point of a shell."""
MIN_SHELL_SATELLITES = 60
"""Fewest core satellites that make a shell (a launch batch is 20-29 Starlink satellites; two batches
raising together must not make a shell)."""
MIN_SHELL_ALTITUDE_KM = 400.0
"""Lowest mean altitude of an operational shell, km. Starlink inserts batches at ~280-360 km and raises
them (SpaceX FCC filings SAT-MOD-20200417-00037); dense groups below 400 km are launch batches parked or
raising, not shells. Lower it for a constellation that operates below 400 km."""
OPERATIONAL_ALTITUDE_TOL_KM = 8.0
"""A satellite within this of its shell's mean altitude is on station, km."""
OPERATIONAL_INCLINATION_TOL_DEG = 0.3
"""A satellite within this of its shell's inclination is in the shell, deg."""
PLANE_GAP_DEG = 1.0
"""Narrowest RAAN gap that can separate two planes, deg (72 planes are 5 deg apart); the gap actually used
is found per shell where the sorted gaps drop the most."""
PLANE_GAP_MIN_RATIO = 2.5
"""A drop by this factor between consecutive sorted RAAN gaps separates inter-plane from intra-plane gaps."""
PLANE_GAP_FLOOR_DEG = 0.05
"""Gaps narrower than this count as this when comparing gap ratios, deg (element-set noise)."""
RAISING_MAX_AGE_DAYS = 365.0
"""A satellite below its shell and launched less than this before the reference epoch is raising its
orbit; an older one is decaying, days (Starlink orbit raising takes weeks to months)."""

STATUSES = ("operational", "raising", "decaying", "parked")
"""Values of the per-satellite ``status`` column."""


@dataclass(frozen=True)
class Structure:
    """Inferred structure, one entry per satellite in input order (arrays of shape ``(N,)``).

    ``shell``, ``plane``, ``slot``: int64, -1 when not operational; ``status``: str, one of
    :data:`STATUSES`; ``altitude_km`` mean altitude; ``inclination_deg``; ``raan_deg`` and
    ``arg_latitude_deg`` at ``reference_epoch_utc``. ``shells``: one dict per shell (``inclination_deg``,
    ``altitude_km``, ``planes``, ``satellites``, ``operational``, ``sats_per_plane``,
    ``sats_per_plane_min``, ``sats_per_plane_max``; ``satellites`` counts the operational ones
    plus those whose nearest shell by inclination it is).
    """

    shell: np.ndarray
    plane: np.ndarray
    slot: np.ndarray
    status: np.ndarray
    altitude_km: np.ndarray
    inclination_deg: np.ndarray
    raan_deg: np.ndarray
    arg_latitude_deg: np.ndarray
    reference_epoch_utc: np.datetime64
    shells: tuple

    def subset(self, index) -> Structure:
        """The satellites selected by an index array or mask (the shell summaries are kept as they are)."""
        idx = np.arange(self.shell.size)[index]
        return replace(self, **{name: getattr(self, name)[idx] for name in (
            "shell", "plane", "slot", "status", "altitude_km", "inclination_deg", "raan_deg", "arg_latitude_deg")})

    @property
    def operational(self) -> np.ndarray:
        """Bool ``(N,)``: on station in a shell."""
        return self.status == "operational"

    def table(self, sat_id=None, name=None):
        """The per-satellite table as a pandas DataFrame (columns of :data:`CONSTELLATION_COLUMNS`)."""
        import pandas as pd

        n = self.shell.size
        return pd.DataFrame({
            "sat_id": np.arange(n) if sat_id is None else np.asarray(sat_id, dtype=np.int64),
            "name": np.full(n, "") if name is None else np.asarray(name, dtype=str),
            "shell": self.shell, "plane": self.plane, "slot": self.slot, "status": self.status.astype(str),
            "altitude_km": self.altitude_km, "inclination_deg": self.inclination_deg,
            "raan_deg": self.raan_deg, "arg_latitude_deg": self.arg_latitude_deg})


CONSTELLATION_COLUMNS = ("sat_id", "name", "shell", "plane", "slot", "status", "altitude_km", "inclination_deg",
                         "raan_deg", "arg_latitude_deg")
"""Columns of the per-satellite structure table (the scenario's ``constellation`` table)."""


def mean_elements(satrecs, reference_epoch_utc=None):
    """Mean elements of SGP4 records at one reference epoch, by SGP4's secular J2 rates.

    Returns ``(inclination_deg, altitude_km, raan_deg, arg_latitude_deg, epoch)``: arrays ``(N,)`` and the
    reference epoch (datetime64[ns]; the latest record epoch when not given). Altitude is the Brouwer mean
    semi-major axis minus the WGS72 equatorial radius.
    """
    n = len(satrecs)
    get = np.frompyfunc(lambda s: (s.inclo, s.a, s.nodeo, s.argpo, s.mo, s.nodedot, s.argpdot, s.mdot,
                                   s.jdsatepoch, s.jdsatepochF), 1, 1)
    rows = np.array(list(get(np.array(satrecs, dtype=object))) if n else np.zeros((0, 10)),
                    dtype=np.float64).reshape(n, 10)
    inc, a_er, raan0, argp0, m0, raan_dot, argp_dot, m_dot, jd, jdf = rows.T
    epoch_ns = np.round(((jd - 2_440_587.5) + jdf) * 86_400e9).astype("int64")
    if reference_epoch_utc is None:
        ref_ns = int(epoch_ns.max()) if n else 0
    else:
        ref_ns = int(np.datetime64(reference_epoch_utc, "ns").astype("int64"))
    dt_min = (ref_ns - epoch_ns) / 60e9
    raan = np.mod(np.degrees(raan0 + raan_dot * dt_min), 360.0)
    u = np.mod(np.degrees(argp0 + m0 + (argp_dot + m_dot) * dt_min), 360.0)
    return (np.degrees(inc), a_er * WGS72_RADIUS_KM - WGS72_RADIUS_KM, raan, u,
            np.datetime64(ref_ns, "ns"))


def launch_dates(intl_designators) -> np.ndarray:
    """Approximate launch dates (datetime64[D]) from international designators ``YYNNNP`` (NaT if blank).

    The designator gives the year and the launch's number within the year, not its date: the date is
    estimated by spreading launch numbers uniformly over the year with :data:`ORBITAL_LAUNCHES_PER_YEAR`
    (or 365 launches for a year not listed). Accuracy: a few weeks.
    """
    from ..constants import ORBITAL_LAUNCHES_PER_YEAR

    text = np.char.strip(np.asarray(intl_designators, dtype=str))
    ok = np.char.str_len(text) >= 5
    yy = np.where(ok, np.char.ljust(text, 5), "00000")
    year2 = np.array([int(t[:2]) if t[:2].isdigit() else -1 for t in yy.tolist()])
    number = np.array([int(t[2:5]) if t[2:5].strip().isdigit() else 0 for t in yy.tolist()])
    ok &= year2 >= 0
    year = np.where(year2 < 57, 2000 + year2, 1900 + year2)
    per_year = np.array([ORBITAL_LAUNCHES_PER_YEAR.get(int(y), 365) for y in year.tolist()], dtype=np.float64)
    frac = np.clip((number - 0.5) / per_year, 0.0, 0.999)
    start = (year - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    dates = start + np.floor(frac * 365.25).astype("timedelta64[D]")
    return np.where(ok, dates, np.datetime64("NaT", "D"))


def satellite_launch_dates(satrecs) -> np.ndarray:
    """:func:`launch_dates` of SGP4 records, from their international designators (NaT where blank)."""
    return launch_dates([getattr(sat, "intldesg", "") for sat in satrecs])


def launched_by(constellation, as_of):
    """The satellites of ``constellation`` launched on or before the day ``as_of`` (a date, datetime64 or ISO
    text; by :func:`satellite_launch_dates`), keeping those whose launch date is unknown."""
    launched = satellite_launch_dates(constellation.satrecs)
    return constellation.subset(np.isnat(launched) | (launched <= np.datetime64(as_of, "D")))


def infer_structure(satrecs, *, reference_epoch_utc=None, launch_date=None,
                    inclination_tol_deg: float = INCLINATION_TOL_DEG, altitude_tol_km: float = ALTITUDE_TOL_KM,
                    min_core_neighbours: int = MIN_CORE_NEIGHBOURS,
                    min_shell_satellites: int = MIN_SHELL_SATELLITES,
                    min_shell_altitude_km: float = MIN_SHELL_ALTITUDE_KM,
                    operational_altitude_tol_km: float = OPERATIONAL_ALTITUDE_TOL_KM,
                    operational_inclination_tol_deg: float = OPERATIONAL_INCLINATION_TOL_DEG,
                    plane_gap_deg: float = PLANE_GAP_DEG) -> Structure:
    """Shells, planes, slots and status of satellites given as SGP4 records (see the module docstring).

    ``launch_date``: optional datetime64 ``(N,)`` (NaT unknown) used to tell raising from decaying; by
    default estimated from each record's international designator.
    """
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    inc, alt, raan, u, ref = mean_elements(satrecs, reference_epoch_utc)
    n = inc.size
    shell = np.full(n, -1, dtype=np.int64)
    plane = np.full(n, -1, dtype=np.int64)
    slot = np.full(n, -1, dtype=np.int64)
    status = np.full(n, "parked", dtype="<U11")
    if n == 0:
        return Structure(shell, plane, slot, status, alt, inc, raan, u, ref, ())

    # -- shells: density cores in the scaled (inclination, altitude) plane --------------------------------
    finite = np.isfinite(inc) & np.isfinite(alt)
    xy = np.c_[inc / inclination_tol_deg, alt / altitude_tol_km]
    xy[~finite] = 1e12
    tree = cKDTree(xy)
    counts = tree.query_ball_point(xy, r=1.0, p=np.inf, return_length=True) - 1
    core = np.flatnonzero(finite & (counts >= min_core_neighbours))
    shell_inc, shell_alt = np.zeros(0), np.zeros(0)
    if core.size:
        pairs = cKDTree(xy[core]).query_pairs(r=1.0, p=np.inf, output_type="ndarray")
        from scipy.sparse import coo_matrix

        graph = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(core.size, core.size))
        _, label = connected_components(graph, directed=False)
        sizes = np.bincount(label)
        med_inc = np.array([np.median(inc[core[label == k]]) for k in range(sizes.size)])
        med_alt = np.array([np.median(alt[core[label == k]]) for k in range(sizes.size)])
        keep = (sizes >= min_shell_satellites) & (med_alt >= min_shell_altitude_km)
        order = np.lexsort((med_alt[keep], med_inc[keep]))
        shell_inc, shell_alt = med_inc[keep][order], med_alt[keep][order]

    # -- status: nearest shell in scaled distance ---------------------------------------------------------
    n_shells = shell_inc.size
    if n_shells:
        d_inc = np.abs(inc[:, None] - shell_inc[None, :])
        d_alt = alt[:, None] - shell_alt[None, :]
        on = (d_inc <= operational_inclination_tol_deg) & (np.abs(d_alt) <= operational_altitude_tol_km)
        score = np.where(on, d_inc / operational_inclination_tol_deg + np.abs(d_alt) / operational_altitude_tol_km,
                         np.inf)
        best = np.argmin(score, axis=1)
        operational = np.isfinite(score[np.arange(n), best])
        shell[operational] = best[operational]
        status[operational] = "operational"
        # Below a shell of the same inclination: raising when young, decaying when old.
        same_inc = d_inc <= max(operational_inclination_tol_deg, 1.0)
        below = (same_inc & (d_alt < -operational_altitude_tol_km)).any(axis=1) & ~operational
        if launch_date is None:
            launch_date = satellite_launch_dates(satrecs)
        age_days = (ref.astype("datetime64[D]") - np.asarray(launch_date, dtype="datetime64[D]")).astype(
            "timedelta64[D]").astype(np.float64)
        known_age = ~np.isnat(np.asarray(launch_date, dtype="datetime64[D]"))
        young = known_age & (age_days < RAISING_MAX_AGE_DAYS)
        status[below & young] = "raising"
        status[below & ~young] = "decaying"

    # -- planes and slots, shell by shell --------------------------------------------------------------------
    summaries = []
    for k in range(n_shells):
        members = np.flatnonzero(shell == k)
        p_of = _planes_by_raan(raan[members], plane_gap_deg)
        plane[members] = p_of
        n_planes = int(p_of.max()) + 1 if members.size else 0
        sizes = np.bincount(p_of, minlength=n_planes)
        spp = _slots_per_plane(p_of, u[members], sizes)
        slot[members] = _slots_by_phase(p_of, u[members], spp)
        summaries.append({
            "inclination_deg": round(float(shell_inc[k]), 3), "altitude_km": round(float(shell_alt[k]), 1),
            "planes": n_planes, "sats_per_plane": spp,
            "sats_per_plane_min": int(sizes.min()) if n_planes else 0,
            "sats_per_plane_max": int(sizes.max()) if n_planes else 0,
            "satellites": int(members.size), "operational": int(members.size),
        })
    if n_shells:
        nearest = np.argmin(np.abs(inc[:, None] - shell_inc[None, :]), axis=1)
        off = (status != "operational") & (np.abs(inc - shell_inc[nearest]) <= 1.0)
        extra = np.bincount(nearest[off], minlength=n_shells)
        for k in range(n_shells):
            summaries[k]["satellites"] += int(extra[k])
    return Structure(shell, plane, slot, status, alt, inc, raan, u, ref, tuple(summaries))


def _planes_by_raan(raan_deg: np.ndarray, gap_deg: float) -> np.ndarray:
    """Plane number of each satellite: RAAN sorted around the circle, a new plane at every gap > gap_deg.

    Planes are numbered by increasing RAAN starting after the widest... first gap at or after 0 deg, so a
    plane straddling 0/360 deg is one plane.
    """
    m = raan_deg.size
    if m == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(raan_deg, kind="stable")
    r = raan_deg[order]
    gaps = np.diff(np.r_[r, r[0] + 360.0])  # gap after each sorted satellite, wrapping
    breaks = np.flatnonzero(gaps > _plane_gap_threshold_deg(gaps, gap_deg))  # plane ends after these
    out = np.zeros(m, dtype=np.int64)
    if breaks.size == 0:
        return out
    start = (breaks[-1] + 1) % m  # first satellite after the last wide gap: a plane start
    rolled = np.roll(np.arange(m), -start)
    is_start = np.zeros(m, dtype=bool)
    is_start[(breaks + 1) % m] = True
    label = np.cumsum(is_start[rolled]) - 1
    out[order[rolled]] = label
    # Number planes by circular position from 0 deg: the plane holding the smallest RAAN start is first.
    first_raan = np.array([r[rolled][label == p][0] for p in range(label.max() + 1)])
    rank = np.argsort(np.argsort(np.mod(first_raan, 360.0), kind="stable"), kind="stable")
    return rank[out]


def _slots_per_plane(plane_of: np.ndarray, u_deg: np.ndarray, sizes: np.ndarray) -> int:
    """Slots per plane of a shell: 360 deg over the median phase gap between neighbours of a plane (robust
    to missing satellites, which only widen a few gaps), and at least the median plane size."""
    if sizes.size == 0:
        return 0
    order = np.lexsort((u_deg, plane_of))
    same = plane_of[order][1:] == plane_of[order][:-1]
    gaps = np.diff(u_deg[order])[same]
    gaps = gaps[gaps > 0]
    by_gap = int(np.round(360.0 / np.median(gaps))) if gaps.size else 1
    return max(by_gap, int(np.round(np.median(sizes))))


def _plane_gap_threshold_deg(gaps_deg: np.ndarray, min_gap_deg: float) -> float:
    """The RAAN gap that separates planes: where the sorted gaps drop the most (largest ratio between
    consecutive gaps in descending order), among gaps wider than ``min_gap_deg``; a real plane spreads
    over a few degrees of RAAN while planes are 5-13 deg apart, so a fixed threshold would split planes."""
    g = np.sort(gaps_deg)[::-1]
    wide = int(np.count_nonzero(g > min_gap_deg))
    if wide == 0:
        return float(min_gap_deg)
    floor = np.maximum(g[: wide + 1], PLANE_GAP_FLOOR_DEG) if wide < g.size else np.maximum(g, PLANE_GAP_FLOOR_DEG)
    ratio = (floor[:-1] / floor[1:])[:wide]
    # The last clear drop (most planes): an empty stretch of RAAN (a shell still being deployed) makes an
    # even bigger drop from itself to the inter-plane gaps, which must not merge the planes.
    clear = np.flatnonzero(ratio >= PLANE_GAP_MIN_RATIO)
    k = int(clear[-1]) if clear.size else int(np.argmax(ratio))
    return float(np.sqrt(floor[k] * floor[k + 1]))


def _slots_by_phase(plane_of: np.ndarray, u_deg: np.ndarray, sats_per_plane: int) -> np.ndarray:
    """Slot of each satellite within its plane from its argument of latitude (see the module docstring)."""
    m = u_deg.size
    slots = np.zeros(m, dtype=np.int64)
    if m == 0 or sats_per_plane < 1:
        return slots
    spacing = 360.0 / sats_per_plane
    ang = np.radians(np.mod(u_deg, spacing) / spacing * 360.0)
    n_planes = int(plane_of.max()) + 1
    c = np.bincount(plane_of, np.cos(ang), n_planes)
    s = np.bincount(plane_of, np.sin(ang), n_planes)
    offset = np.mod(np.degrees(np.arctan2(s, c)), 360.0) / 360.0 * spacing
    lattice = np.mod(np.round((u_deg - offset[plane_of]) / spacing).astype(np.int64), sats_per_plane)
    order = np.lexsort((lattice, plane_of))
    clash = (plane_of[order][1:] == plane_of[order][:-1]) & (lattice[order][1:] == lattice[order][:-1])
    bad_planes = np.unique(plane_of[order][1:][clash])
    slots[:] = lattice
    if bad_planes.size:
        sel = np.isin(plane_of, bad_planes)
        o = np.lexsort((np.mod(u_deg[sel] - offset[plane_of[sel]], 360.0), plane_of[sel]))
        idx = np.flatnonzero(sel)[o]
        pl = plane_of[idx]
        first = np.r_[True, pl[1:] != pl[:-1]]
        start = np.maximum.accumulate(np.where(first, np.arange(idx.size), 0))
        slots[idx] = np.arange(idx.size) - start
    return slots


def infer_constellation(constellation, *, keep_non_operational: bool = False, **options):
    """A copy of an element-file :class:`~leosim.orbits.constellation.Constellation` with its inferred
    shell, plane and slot columns and ``structure``; non-operational satellites are dropped (no ISLs and
    no service) unless ``keep_non_operational`` (then they stay, serving by bent pipe, with no ISLs).
    ``options`` go to :func:`infer_structure`."""
    from .constellation import Constellation

    st = infer_structure(constellation.satrecs, **options)
    out = Constellation(constellation.satrecs, sat_id=constellation.sat_id, name=constellation.name,
                        shell=st.shell, plane=st.plane, slot=st.slot, epoch_utc=constellation.epoch_utc,
                        description=constellation.description, structure=st)
    return out if keep_non_operational else out.subset(st.operational)


def structure_of(constellation) -> Structure:
    """The constellation's inferred structure (computed once and kept on it when not already there)."""
    if constellation.structure is None:
        constellation.structure = infer_structure(constellation.satrecs)
    return constellation.structure


STALE_ELEMENTS_WARNING_DAYS = 3.0
"""Element epochs further than this from the scenario window draw a warning, days."""


def stale_elements_message(epochs_utc, window_start_utc, window_end_utc) -> str:
    """A warning (empty when none) when element epochs lie more than :data:`STALE_ELEMENTS_WARNING_DAYS`
    from the window: how far (median and worst, days) and the position error that costs, from the LEO
    TLE error growth of :data:`~leosim.constants.TLE_ERROR_GROWTH_KM_PER_DAY`."""
    from ..constants import TLE_ERROR_GROWTH_KM_PER_DAY

    epochs = np.asarray(epochs_utc, dtype="datetime64[ns]")
    if epochs.size == 0:
        return ""
    start = np.datetime64(window_start_utc, "ns")
    end = np.datetime64(window_end_utc, "ns")
    before = (start - epochs).astype(np.float64)
    after = (epochs - end).astype(np.float64)
    days = np.maximum(np.maximum(before, after), 0.0) / 86_400e9
    if float(np.median(days)) <= STALE_ELEMENTS_WARNING_DAYS:
        return ""
    lo, hi = TLE_ERROR_GROWTH_KM_PER_DAY
    med = float(np.median(days))
    return (f"element epochs are {med:.0f} days (median; up to {days.max():.0f}) from the scenario window: "
            f"expect position errors of about {lo * med:,.0f}-{hi * med:,.0f} km (TLE error grows ~{lo:g}-{hi:g} "
            f"km/day in LEO), and satellites launched or deorbited in between are wrong or missing")
