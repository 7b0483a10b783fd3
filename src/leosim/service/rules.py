"""The rules a service answer is decided by, where each came from, and how the deciding rule is worded.

Rules reach the engine from two places: a scenario (its ``[[policy.rules]]`` and what-if rules) and a
policy store (the scenario's ``[policy] store``, ``leosim access --db``, ``leosim serve --db``). They are
combined in one way only, :meth:`RuleBook.combine`:

* the scenario's rules come first, then the store's, in the store's order;
* one precedence decides between them, :func:`leosim.policy.rules.evaluate`'s: the more specific subject
  wins (terminal > fleet > custom region > country); among rules of the same kind, the later decision
  (``decided_at``) wins; where that ties too, the rule listed later wins, so a store rule beats a
  scenario rule decided at the same instant;
* where no rule applies, the scenario's ``default_state`` holds (``denied`` without a scenario), and
  gateways land traffic unless their territory is denied (``landing_default_state``, ``active``).

The CLI (``leosim run``, ``leosim access``) and the server use this one function.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..policy.rules import DEFAULT_STATE, Rule

LANDING_DEFAULT_STATE = "active"
"""Where no rule applies to a gateway's territory, it lands traffic (only a denial takes landing rights)."""

SOURCES = ("scenario", "store", "default")
"""Where a verdict comes from: a scenario rule, a store rule, or the default state (no rule applies)."""


def describe_rule(rule: Rule) -> str:
    """One line naming a rule: subject, state, window, who decided and why."""
    text = f"{rule.subject} {rule.state}"
    if rule.when is not None:
        text += f" when {rule.when.describe()}"
    text += f" from {str(rule.valid_from)[:10]}"
    if rule.valid_until is not None:
        text += f" until {str(rule.valid_until)[:10]}"
    if rule.decided_by:
        text += f" by {rule.decided_by}"
    if rule.reason:
        text += f": {rule.reason}"
    return text


def default_text(state: str) -> str:
    """The wording of a verdict no rule decided."""
    return f"default: {state}"


@dataclass(frozen=True)
class RuleBook:
    """Rules in evaluation order, the source of each, and the default states (see the module docstring)."""

    rules: tuple[Rule, ...] = ()
    sources: tuple[str, ...] = ()
    default_state: str = DEFAULT_STATE
    landing_default_state: str = LANDING_DEFAULT_STATE

    @classmethod
    def combine(cls, scenario_rules: Sequence[Rule] = (), store_rules: Sequence[Rule] = (), *,
                default_state: str = DEFAULT_STATE,
                landing_default_state: str = LANDING_DEFAULT_STATE) -> RuleBook:
        """The scenario's rules, then the store's: the one way the two are put together."""
        book = cls(default_state=default_state, landing_default_state=landing_default_state)
        return book.with_rules(scenario_rules, "scenario").with_rules(store_rules, "store")

    def with_rules(self, extra: Sequence[Rule], source: str = "scenario") -> RuleBook:
        """These rules, then ``extra`` from ``source`` (a store's rules; a what-if's, decided last)."""
        extra = tuple(extra)
        return RuleBook((*self.rules, *extra), (*self.sources, *(source,) * len(extra)), self.default_state,
                        self.landing_default_state)

    def texts(self) -> np.ndarray:
        """Wording of each rule, then of the default (index ``-1``), as an object array."""
        return np.array([describe_rule(r) for r in self.rules] + [default_text(self.default_state)], dtype=object)

    def source_of(self, index: int) -> str:
        """Source of the verdict decided by rule ``index`` (``-1``: no rule, the default state)."""
        return self.sources[index] if index >= 0 else "default"

    def state_of(self, index: int) -> str:
        """State of rule ``index`` (``-1``: the default state)."""
        return self.rules[index].state if index >= 0 else self.default_state
