"""Rule subjects from what people type: a country code or name, a custom region, a fleet or a terminal."""

from __future__ import annotations

import difflib

from ..errors import LeosimInputError


def resolve_subject(text: str, known_regions=()) -> str:
    """Canonical rule subject for a TERRITORY argument.

    ``terminal:ID``, ``fleet:NAME`` and ``region:NAME`` pass through; ``*`` or ``global`` gives ``*``
    (every terminal, anywhere); an ISO alpha-3 code (any case) or a
    country's name gives the code; the name of a known region (``known_regions``: those the store's rules
    or the server's scenario already name, and the shipped territories' own regions) gives ``region:NAME``.
    Any other name raises :class:`LeosimInputError` with close matches: a *new* custom region must be
    written ``region:NAME``, so that a mistyped country (``UKRR``) never enters the append-only log. A
    region's outline is defined by the scenario (``[regions]``) that uses the store; a scenario whose
    store names a region it does not define is refused when it is loaded.
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
        pass
    hint = territories.suggest(key) if key else "give an ISO 3166 alpha-3 code"
    region_hint = difflib.get_close_matches(key, list(known_regions), n=3, cutoff=0.6)
    if region_hint:
        hint += "; known regions: " + ", ".join(region_hint)
    raise LeosimInputError(f"unknown territory {key!r}; {hint}; a new custom region is written "
                           f"region:{key or 'NAME'}", field="TERRITORY") from None
