"""The one service engine: landing rights → route → policy verdict, per terminal and instant.

:class:`ServiceEngine` answers for many terminals and instants (``leosim run``); :func:`access_at` for one
place at one instant (``leosim access``, ``/api/access``); :class:`RuleBook` is how scenario and store
rules are combined, with the default states. See :mod:`leosim.service.engine`.
"""

from .access import ACCESS_KEYS, access_at
from .engine import STATUSES, NetworkSettings, ServiceAnswer, ServiceEngine, Terminals
from .rules import RuleBook, describe_rule

__all__ = ["ACCESS_KEYS", "STATUSES", "NetworkSettings", "RuleBook", "ServiceAnswer", "ServiceEngine", "Terminals",
           "access_at", "describe_rule"]
