"""Named constellations, each with its source.

Filings give altitude, inclination, planes and satellites per plane; they do not give the in-plane
phasing between planes, so the presets use Walker-delta phasing F = 1 unless stated (illustrative).
Generated shells have their epoch at 2024-01-01 00:00 UTC unless stated, and no drag (BSTAR = 0).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from ..errors import LeosimInputError
from .walker import WalkerShell

_EPOCH = "2024-01-01T00:00:00Z"


@dataclass(frozen=True)
class Preset:
    """A named set of Walker shells with a description that cites its source."""

    name: str
    shells: tuple[WalkerShell, ...]
    description: str

    @property
    def size(self) -> int:
        """Number of satellites."""
        return sum(shell.size for shell in self.shells)


def _shell(name, altitude_km, inclination_deg, planes, sats_per_plane, **options) -> WalkerShell:
    options.setdefault("phasing_f", 1)
    options.setdefault("epoch_utc", _EPOCH)
    return WalkerShell(altitude_km, inclination_deg, planes, sats_per_plane, name=name, **options)


def _hypatia_starlink_550() -> WalkerShell:
    # Hypatia (Kassing et al., IMC 2020), paper/satellite_networks_state/main_starlink_550.py and
    # satgenpy/satgen/tles/generate_tles_from_scratch.py: eccentricity 1e-7, argument of perigee 0,
    # RAAN = plane * 360 / 72, mean anomaly = slot * 360 / 22 + (360 / 44 on odd planes),
    # mean motion 15.19 rev/day, epoch 2000-01-01 00:00:00 UTC.
    offsets = tuple((p % 2) * 360.0 / 44.0 for p in range(72))
    return WalkerShell(550.0, 53.0, 72, 22, plane_phase_offset_deg=offsets, eccentricity=1e-7,
                       mean_motion_rev_per_day=15.19, epoch_utc="2000-01-01T00:00:00Z",
                       name="starlink-550")


_PRESETS = {
    preset.name: preset
    for preset in [
        Preset("starlink-gen1", (
            _shell("gen1-550", 550.0, 53.0, 72, 22),
            _shell("gen1-540", 540.0, 53.2, 72, 22),
            _shell("gen1-570", 570.0, 70.0, 36, 20),
            _shell("gen1-560a", 560.0, 97.6, 6, 58),
            _shell("gen1-560b", 560.0, 97.6, 4, 43),
        ), "Starlink first generation, the five shells of the FCC's April 2021 modification order "
           "(FCC 21-48, IBFS SAT-MOD-20200417-00037): 550 km/53.0°/72x22, 540 km/53.2°/72x22, "
           "570 km/70.0°/36x20, 560 km/97.6°/6x58, 560 km/97.6°/4x43; 4,408 satellites. "
           "Phasing F=1 is illustrative (not in the filing)."),
        Preset("starlink-550", (_hypatia_starlink_550(),),
               "Starlink's first shell exactly as the Hypatia simulator builds it (Kassing et al., IMC "
               "2020): 72 planes x 22, 53°, mean motion 15.19 rev/day, e = 1e-7, odd planes offset by half a "
               "slot, epoch 2000-01-01 00:00 UTC; 1,584 satellites."),
        Preset("starlink-gen2a", (
            _shell("gen2a-525", 525.0, 53.0, 28, 120),
            _shell("gen2a-530", 530.0, 43.0, 28, 120),
            _shell("gen2a-535", 535.0, 33.0, 28, 120),
        ), "Starlink second generation, the 525/530/535 km shells at 53°/43°/33° of the January 2022 "
           "amendment (IBFS SAT-AMD-20210818-00105), 28 planes x 120 each, 10,080 satellites. The FCC "
           "authorised 7,500 of these in December 2022 (FCC 22-91); the preset builds the filed shells in full."),
        Preset("kuiper", (
            _shell("kuiper-630", 630.0, 51.9, 34, 34),
            _shell("kuiper-610", 610.0, 42.0, 36, 36),
            _shell("kuiper-590", 590.0, 33.0, 28, 28),
        ), "Amazon Project Kuiper as authorised by the FCC in July 2020 (FCC 20-102): 630 km/51.9°/34x34, "
           "610 km/42°/36x36, 590 km/33°/28x28; 3,236 satellites."),
        Preset("oneweb", (
            _shell("oneweb-1200", 1200.0, 87.9, 12, 49, raan_spread_deg=180.0),
        ), "OneWeb phase 1 (FCC 17-77 and the 2021 modification): 12 near-polar planes x 49 at 1,200 km, "
           "87.9°; 588 satellites. Planes span 180° of right ascension (a Walker star), as polar "
           "constellations do."),
    ]
}


def preset_names() -> list[str]:
    """Names of the presets, in a stable order."""
    return list(_PRESETS)


def get_preset(name: str) -> Preset:
    """The preset called ``name``; an unknown name raises an error listing the presets."""
    try:
        return _PRESETS[name]
    except KeyError:
        close = difflib.get_close_matches(name, list(_PRESETS), n=3)
        hint = f" Did you mean {', '.join(close)}?" if close else ""
        raise LeosimInputError(f"unknown constellation preset {name!r}; accepted: {', '.join(_PRESETS)}.{hint}",
                               field="constellation") from None
