"""``leosim serve``: the HTTP API and the offline CesiumJS globe.

:func:`create_app` builds the ASGI app from a :class:`ServerState` (the constellation, sites, window,
policy store and optional scenario results it answers from).
"""

from .._lazy import lazy_exports

_EXPORTS = {
    "create_app": ".app",
    "ServerState": ".state",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = ["ServerState", "create_app"]
