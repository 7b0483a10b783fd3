"""Rule subjects from what people type: a country code or name, a custom region, a fleet or a terminal."""

from __future__ import annotations

import difflib

from ..errors import LeosimInputError


def resolve_subject(text: str, known_regions=()) -> str:
    """Canonical rule subject for a TERRITORY argument.

    ``terminal:ID``, ``fleet:NAME`` and ``region:NAME`` pass through; ``*`` or ``global`` gives ``*``
    (every terminal, anywhere); an ISO alpha-3 code (any case) or a
    country's name gives the code; a known custom region's name gives ``region:NAME``; any other name
    is taken as a new custom region unless it looks like a mistyped country (3 letters, or close to a
    country's name), which raises :class:`LeosimInputError` listing close matches.
    """
    from ..territory import Territories  # the territory layer sits beside policy; imported when used

    key = text.strip()
    if key.lower() in ("*", "global"):
        return "*"
    prefix, sep, rest = key.partition(":")
    if sep:
        if prefix in ("terminal", "fleet", "region") and rest.strip():
            return f"{prefix}:{rest.strip()}"
        raise LeosimInputError(f"{text!r}: expected terminal:ID, fleet:NAME, region:NAME or an ISO 3166 "
                               f"alpha-3 code", field="TERRITORY")
    if key in known_regions:
        return f"region:{key}"
    territories = Territories.default()
    try:
        kind, code = territories.resolve(key, field="TERRITORY")
        return code if kind == "country" else f"region:{code}"
    except LeosimInputError:
        names = [n.lower() for n in territories.names.values()]
        near_country = difflib.get_close_matches(key.lower(), names, n=1, cutoff=0.85)
        region_hint = difflib.get_close_matches(key, list(known_regions), n=3, cutoff=0.6)
        if (len(key) == 3 and key.isalpha()) or near_country or not key:
            hint = territories.suggest(key)
            if region_hint:
                hint += "; known regions: " + ", ".join(region_hint)
            raise LeosimInputError(f"unknown territory {key!r}; {hint}", field="TERRITORY") from None
    return f"region:{key}"
