"""``leosim serve``: the HTTP API and the offline CesiumJS globe.

:func:`create_app` builds the ASGI app from a :class:`ServerState` (the constellation, sites, window,
policy store and optional scenario results it answers from).
"""

from .app import create_app
from .state import ServerState

__all__ = ["ServerState", "create_app"]
