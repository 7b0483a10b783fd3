"""How the server writes values: instants, rounding, NaN; and how it reads time parameters."""

from __future__ import annotations

import numpy as np

from ..errors import LeosimInputError
from ..timebase import parse_utc

#: Rounding of positions in answers: 1e-4 degree is ~11 m on the ground; 0.01 km is 10 m.
POSITION_DEG_DECIMALS = 4
POSITION_KM_DECIMALS = 2


def instant(text: str, *, field: str = "t") -> np.datetime64:
    """Parse an API time parameter (ISO 8601 or 'now'), refused outside the supported range
    (:data:`leosim.timebase.EARLIEST_UTC` .. :data:`leosim.timebase.LATEST_UTC`, checked before conversion)."""
    if text is None or not str(text).strip():
        raise LeosimInputError("missing time; expected ISO 8601 such as 2024-10-25T12:00:00Z", field=field)
    try:
        return parse_utc(str(text), source=field)
    except LeosimInputError as error:
        raise LeosimInputError(error.message, field=field) from None


def iso(value: np.datetime64) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``."""
    return np.datetime_as_string(np.datetime64(value, "ms"), unit="ms") + "Z"


def nan_to_none(values: np.ndarray) -> list:
    """A list with None where ``values`` is not finite (JSON has no NaN)."""
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out.tolist()
