"""How the server writes values: instants, rounding, NaN; and how it reads time parameters."""

from __future__ import annotations

import numpy as np

from ..errors import LeosimInputError
from ..timebase import parse_utc

#: Instants accepted by the API: from Sputnik to 2100 (SGP4 elements far from their epoch are meaningless,
#: and datetime64[ns] ends in 2262).
EARLIEST_UTC = np.datetime64("1957-10-04T00:00:00", "ns")
LATEST_UTC = np.datetime64("2100-01-01T00:00:00", "ns")
#: Rounding of positions in answers: 1e-4 degree is ~11 m on the ground; 0.01 km is 10 m.
POSITION_DEG_DECIMALS = 4
POSITION_KM_DECIMALS = 2


def instant(text: str, *, field: str = "t") -> np.datetime64:
    """Parse an API time parameter (ISO 8601 or 'now') and check it lies in the accepted range."""
    if text is None or not str(text).strip():
        raise LeosimInputError("missing time; expected ISO 8601 such as 2024-10-25T12:00:00Z", field=field)
    try:
        value = parse_utc(str(text), source=field)
    except (OverflowError, ValueError, OSError):
        raise LeosimInputError(f"{text!r} is not a usable instant", field=field) from None
    if not EARLIEST_UTC <= value < LATEST_UTC:
        raise LeosimInputError(f"{text!r} is outside the accepted range 1957-10-04 .. 2100-01-01", field=field)
    return value


def iso(value: np.datetime64) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``."""
    return np.datetime_as_string(np.datetime64(value, "ms"), unit="ms") + "Z"


def nan_to_none(values: np.ndarray) -> list:
    """A list with None where ``values`` is not finite (JSON has no NaN)."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()
