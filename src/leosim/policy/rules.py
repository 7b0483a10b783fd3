"""Service-policy rules and their vectorised evaluation: who gets service where, when.

A :class:`Rule` sets the service **state** of a **subject** over a half-open effective window
``[valid_from, valid_until)`` (``valid_until`` None = open-ended):

* subjects: a country (ISO 3166 alpha-3, e.g. ``UKR``), a custom region (``region:Crimea``), a fleet
  (``fleet:NAME``) or one terminal (``terminal:ID``);
* states: ``active`` (service on), ``denied`` (off), ``restricted`` (on only for the tenants or fleets
  named in ``allow``: ``fleet:NAME`` / ``tenant:NAME``; a bare name matches either).

Precedence (deterministic): the more specific subject wins — terminal > fleet > custom region >
country > global (``*``, every terminal anywhere, at sea too). Among rules of the same kind that
apply to a terminal at an instant, the later decision (``decided_at``) wins; where that ties too, the
rule listed later wins. Two rules for the *same* subject (and the same condition) with overlapping
windows, the same ``decided_at`` and different outcomes are a contradiction: :func:`check_rules`
(called by :func:`evaluate`) raises :class:`LeosimInputError` naming both.

Where no rule applies, the ``default_state`` holds; it is ``denied`` by default, since service is the
operator's decision, not a given.

Conditions (extending, not replacing, the precedence above). A rule may carry a ``when``
(:class:`~leosim.policy.conditions.Condition`: speed above a limit, more than N days abroad, farther
than X nm offshore, on or exempt from given plans). A conditional rule applies to a terminal at an
instant only where its condition holds; where it does not, the rule is as if absent and the next rule
in the order above decides. So "UKR denied when speed > 75 km/h, except aviation plans", decided after
"UKR restricted to registered terminals", denies a fast registered car and leaves a slow one to the
whitelist. Rules with different conditions never contradict each other (list order breaks a tie in
``decided_at``). ``restricted`` allow lists also accept ``registered`` (registered in the terminal
registry at that instant, :class:`~leosim.policy.registry.TerminalRegistry`), ``registered:ISO3``
(registered, with that registered country: a national whitelist) and ``plan:NAME``.
:func:`decide` also says which condition decided (:data:`~leosim.policy.conditions.CONDITION_NAMES`).

Gateway landing rights (:func:`landing_rights`) follow the state of the gateway's territory (country
and region rules only): a gateway lands traffic unless its territory is ``denied`` (under
``restricted`` it lands the allowed tenants' traffic; the per-terminal check does the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import LeosimInputError
from ..timebase import instants_ns, parse_utc
from .conditions import ALLOW, NO_CONDITION, OFFSHORE, PLAN, ROAMING, SPEED, Condition

STATES = ("active", "denied", "restricted")
#: Subject kinds in increasing precedence. ``global`` (subject ``*``: every terminal, anywhere, at sea
#: too) is below country: operator-wide terms such as roaming or maritime limits.
KINDS = ("global", "country", "region", "fleet", "terminal")
GLOBAL_SUBJECT = "*"
PRECEDENCE = {kind: level for level, kind in enumerate(KINDS)}
DEFAULT_STATE = "denied"
_NO_END = np.iinfo(np.int64).max


def subject_kind(subject: str) -> tuple[str, str]:
    """``(kind, key)`` of a canonical subject: ``'UKR'`` → ``('country', 'UKR')``,
    ``'region:Crimea'`` → ``('region', 'Crimea')``, ``'fleet:X'``, ``'terminal:ID'``, ``'*'`` (or
    ``'global'``) → ``('global', '*')``."""
    if subject.strip().lower() in (GLOBAL_SUBJECT, "global"):
        return "global", GLOBAL_SUBJECT
    prefix, sep, rest = subject.partition(":")
    if sep:
        if prefix in ("region", "fleet", "terminal") and rest.strip():
            return prefix, rest.strip()
        raise LeosimInputError(f"subject {subject!r}: expected region:NAME, fleet:NAME or terminal:ID "
                               f"with a non-empty name", field="subject")
    key = subject.strip()
    if len(key) == 3 and key.isalpha():
        return "country", key.upper()
    raise LeosimInputError(f"subject {subject!r} is not an ISO 3166 alpha-3 code; custom regions are "
                           f"written region:NAME, fleets fleet:NAME, terminals terminal:ID, every terminal *",
                           field="subject")


def _ns(value) -> int:
    return int(parse_utc(value).astype(np.int64))


#: URL schemes a rule's or fleet's ``url`` may use (the report and the globe show it as a link).
SOURCE_URL_SCHEMES = ("https://", "http://")


def check_source_url(url) -> str:
    """``url`` stripped, '' when empty; raises :class:`LeosimInputError` unless it starts with http(s)://."""
    text = "" if url is None else str(url).strip()
    if text and not text.lower().startswith(SOURCE_URL_SCHEMES):
        raise LeosimInputError(f"url {text!r} must start with https:// or http://", field="url")
    return text


@dataclass(frozen=True)
class Rule:
    """One decision: ``subject`` is in ``state`` during ``[valid_from, valid_until)`` (UTC).

    Instants are ``datetime64[ns]`` (anything :func:`leosim.timebase.parse_utc` accepts is converted).
    ``allow`` lists the tenants/fleets a ``restricted`` rule lets through (``fleet:NAME``,
    ``tenant:NAME``, a bare name for either, ``registered``, ``registered:ISO3``, ``plan:NAME``). ``decided_at`` orders
    decisions of equal precedence (later wins); ``decided_by`` and ``reason`` say who and why. ``when``
    (a :class:`~leosim.policy.conditions.Condition` or a mapping of its keys) makes the rule apply only
    where the condition holds.
    """

    subject: str
    state: str
    valid_from: np.datetime64
    valid_until: np.datetime64 | None = None
    decided_at: np.datetime64 = field(default_factory=lambda: parse_utc("now"))
    allow: tuple[str, ...] = ()
    decided_by: str = ""
    reason: str = ""
    rule_id: int | None = None
    url: str = ""
    """A link to the public source of the decision (optional; shown in the report, globe and policy show)."""
    source: str = ""
    """The source in words (outlet, date), optional."""
    when: Condition | None = None
    """Conditions per terminal and instant (:mod:`leosim.policy.conditions`): the rule applies only where
    they hold."""

    def __post_init__(self):
        kind, key = subject_kind(self.subject)
        canonical = key if kind in ("country", "global") else f"{kind}:{key}"
        object.__setattr__(self, "subject", canonical)
        if self.state not in STATES:
            raise LeosimInputError(f"state {self.state!r} is not one of {', '.join(STATES)}", field="state")
        object.__setattr__(self, "valid_from", parse_utc(self.valid_from, source="from"))
        if self.valid_until is not None:
            until = parse_utc(self.valid_until, source="until")
            object.__setattr__(self, "valid_until", until)
            if until <= self.valid_from:
                raise LeosimInputError(f"rule for {self.subject}: until {until} is not after from "
                                       f"{self.valid_from}", field="until")
        object.__setattr__(self, "decided_at", parse_utc(self.decided_at, source="decided_at"))
        allow = tuple(str(a).strip() for a in (self.allow or ()))
        if self.state == "restricted" and not allow:
            raise LeosimInputError(f"rule for {self.subject}: state restricted needs the tenants or fleets "
                                   f"it allows (allow = [\"fleet:NAME\", \"tenant:NAME\"])", field="allow")
        if self.state != "restricted" and allow:
            raise LeosimInputError(f"rule for {self.subject}: allow is only meaningful with state "
                                   f"restricted, not {self.state}", field="allow")
        object.__setattr__(self, "allow", allow)
        object.__setattr__(self, "url", check_source_url(self.url))

        if self.when is not None:
            object.__setattr__(self, "when", Condition.from_dict(self.when))

    @property
    def kind(self) -> str:
        return subject_kind(self.subject)[0]

    @property
    def key(self) -> str:
        return subject_kind(self.subject)[1]

    def in_force(self, instant) -> bool:
        """Whether ``instant`` lies in ``[valid_from, valid_until)``."""
        t = parse_utc(instant)
        return bool(self.valid_from <= t and (self.valid_until is None or t < self.valid_until))

    def with_id(self, rule_id: int) -> Rule:
        return replace(self, rule_id=rule_id)

    def describe(self) -> str:
        until = "open" if self.valid_until is None else str(self.valid_until)
        extra = f" allow={','.join(self.allow)}" if self.allow else ""
        extra += f" when {self.when.describe()}" if self.when is not None else ""
        ident = f"#{self.rule_id} " if self.rule_id is not None else ""
        return f"{ident}{self.subject} {self.state}{extra} [{self.valid_from}, {until}) decided {self.decided_at}"


def _window(rule: Rule) -> tuple[int, int]:
    start = int(rule.valid_from.astype(np.int64))
    end = _NO_END if rule.valid_until is None else int(rule.valid_until.astype(np.int64))
    return start, end


def check_rules(rules) -> None:
    """Raise :class:`LeosimInputError` for contradicting rules: same subject, same condition, overlapping
    windows, same ``decided_at``, different state or allow list (precedence cannot decide between them)."""
    by_subject: dict[tuple, list[tuple[int, Rule]]] = {}
    for index, rule in enumerate(rules):
        key = (rule.subject, int(rule.decided_at.astype(np.int64)), rule.when)
        by_subject.setdefault(key, []).append((index, rule))
    for group in by_subject.values():
        for a in range(len(group)):
            for b in range(a + 1, len(group)):
                (i, ra), (j, rb) = group[a], group[b]
                (sa, ea), (sb, eb) = _window(ra), _window(rb)
                overlap = sa < eb and sb < ea
                if overlap and (ra.state, set(ra.allow)) != (rb.state, set(rb.allow)):
                    raise LeosimInputError(
                        f"contradicting rules at the same precedence: rule {i} ({ra.describe()}) and rule "
                        f"{j} ({rb.describe()}) overlap, were decided at the same instant and disagree; "
                        f"change one's window or decided_at", field="rules")


def _column(values, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=str)
    array = np.asarray(values, dtype=str)
    if array.ndim == 0:
        return np.full(n, str(array))
    if array.shape != (n,):
        raise LeosimInputError(f"{name} has shape {array.shape}; expected ({n},) like territory", field=name)
    return array


def _state_allowed(state: str) -> bool:
    if state not in ("active", "denied"):
        raise LeosimInputError(f"default state must be active or denied, got {state!r}",
                               field="default_state")
    return state == "active"


@dataclass(frozen=True)
class Decision:
    """A verdict per terminal and instant, every array shaped (N, T).

    ``allowed`` (bool); ``rule_index`` (int32): index into the rules of the deciding rule, -1 where no
    rule applies and the default state holds; ``condition`` (int8): code of the deciding condition
    (:data:`~leosim.policy.conditions.CONDITION_NAMES`: 0 none, ``speed``, ``roaming``, ``offshore``,
    ``plan``, or ``allow`` where a ``restricted`` rule's allow list did not hold the terminal).
    """

    allowed: np.ndarray
    rule_index: np.ndarray
    condition: np.ndarray


def evaluate(rules, *, territory, region=None, fleet=None, terminal_id=None, instants, tenant=None,
             default_state: str = DEFAULT_STATE, check: bool = True, plan=None, registered=None,
             registered_country=None, speed_kmh=None, days_abroad=None,
             offshore_nm=None) -> tuple[np.ndarray, np.ndarray]:
    """Whether each terminal is allowed service at each instant, and which rule decided.

    ``rules``: sequence of :class:`Rule`. Per terminal, 1-D str arrays of length N (or a scalar for
    all, or None for none): ``territory`` (country alpha-3, '' at sea), ``region`` (custom region name,
    '' for none), ``fleet``, ``terminal_id``, ``tenant`` (the fleet's tenant, for ``restricted``
    rules), ``plan`` (the registered plan, '' when unknown). ``instants``:
    :class:`~leosim.timebase.Times`, datetime64 array or ISO strings, shape (T,).

    Inputs of rule conditions, each (N, T) or (N,) (None: a fixed terminal on land at home, see
    :mod:`leosim.policy.conditions`): ``registered`` (bool: in the registry at that instant, for
    ``allow = ["registered"]``), ``registered_country`` ((N,) alpha-3, for ``registered:ISO3``),
    ``speed_kmh``, ``days_abroad`` (an array, or a dict ``{"rolling": ..., "calendar": ...}``;
    :func:`leosim.policy.roaming.days_abroad` computes it) and ``offshore_nm``.
    :func:`leosim.policy.terminal_inputs.condition_inputs` gathers them from positions and the registry.

    Returns ``(allowed, rule_index)``: bool array (N, T) and int32 array (N, T) of the index into
    ``rules`` of the deciding rule, -1 where no rule applies and ``default_state`` holds. :func:`decide`
    also returns the deciding condition.
    """
    decision = decide(rules, territory=territory, region=region, fleet=fleet, terminal_id=terminal_id,
                      instants=instants, tenant=tenant, default_state=default_state, check=check, plan=plan,
                      registered=registered, registered_country=registered_country, speed_kmh=speed_kmh,
                      days_abroad=days_abroad, offshore_nm=offshore_nm)
    return decision.allowed, decision.rule_index


def decide(rules, *, territory, region=None, fleet=None, terminal_id=None, instants, tenant=None,
           default_state: str = DEFAULT_STATE, check: bool = True, plan=None, registered=None,
           registered_country=None, speed_kmh=None, days_abroad=None, offshore_nm=None) -> Decision:
    """As :func:`evaluate`, returning a :class:`Decision` (allowed, deciding rule and deciding condition)."""
    inputs = {"plan": plan, "registered": registered, "registered_country": registered_country,
              "speed_kmh": speed_kmh, "days_abroad": days_abroad, "offshore_nm": offshore_nm}
    return _evaluate(rules, territory=territory, region=region, fleet=fleet, terminal_id=terminal_id,
                     instants=instants, tenant=tenant, default_state=default_state, check=check,
                     restricted_lands=False, inputs=inputs)


def landing_rights(rules, *, territory, region=None, instants, default_state: str = DEFAULT_STATE,
                   check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Whether each gateway may land traffic at each instant: its territory's state is not ``denied``.

    Only unconditional country and region rules count (conditions are about terminals). Shapes and
    returns as in :func:`evaluate` (gateways for terminals).
    """
    territorial = [r if r.kind in ("country", "region") and r.when is None else None for r in rules]
    kept = [r for r in territorial if r is not None]
    index_map = np.array([i for i, r in enumerate(territorial) if r is not None] + [-1], dtype=np.int32)
    if check:
        check_rules(list(rules))
    decision = _evaluate(kept, territory=territory, region=region, fleet=None, terminal_id=None,
                         instants=instants, tenant=None, default_state=default_state, check=False,
                         restricted_lands=True, inputs={})
    return decision.allowed, index_map[decision.rule_index]


def _evaluate(rules, *, territory, region, fleet, terminal_id, instants, tenant, default_state, check,
              restricted_lands, inputs):
    rules = list(rules)
    default_allowed = _state_allowed(default_state)
    if check:
        check_rules(rules)
    territory = np.atleast_1d(np.asarray(territory, dtype=str))
    n = territory.shape[0]
    columns = {
        "global": np.full(n, GLOBAL_SUBJECT, dtype=str),
        "country": np.char.upper(territory) if n else territory,
        "region": _column(region, n, "region"),
        "fleet": _column(fleet, n, "fleet"),
        "terminal": _column(terminal_id, n, "terminal_id"),
    }
    tenants = _column(tenant, n, "tenant")
    plans = _column(inputs.get("plan"), n, "plan")
    home = np.char.upper(_column(inputs.get("registered_country"), n, "registered_country"))
    t_ns = instants_ns(instants)
    n_t = t_ns.size
    registered = _registered(inputs.get("registered"), n, n_t)
    if not rules or n == 0 or n_t == 0:
        return Decision(np.full((n, n_t), default_allowed, dtype=bool), np.full((n, n_t), -1, dtype=np.int32),
                        np.zeros((n, n_t), dtype=np.int8))

    windows = np.array([_window(r) for r in rules], dtype=np.int64).reshape(-1, 2)
    levels = np.array([PRECEDENCE[r.kind] for r in rules])
    decided = np.array([int(r.decided_at.astype(np.int64)) for r in rules], dtype=np.int64)
    conditional = np.array([r.when is not None for r in rules])
    # Rank: precedence first, then decision time, then list order; the highest rank decides.
    order = np.lexsort((np.arange(len(rules)), decided, levels))
    rank_of = np.empty(len(rules), dtype=np.int32)
    rank_of[order] = np.arange(len(rules), dtype=np.int32)

    # Factorise each subject column; a rule maps to the id of its key (or is dropped when absent).
    vocab, inverse, rule_ids = {}, {}, np.full(len(rules), -1, dtype=np.int64)
    for kind, column in columns.items():
        vocab[kind], inverse[kind] = np.unique(column, return_inverse=True)
        lookup = {v: i for i, v in enumerate(vocab[kind].tolist())}
        for i, rule in enumerate(rules):
            if rule.kind == kind:
                rule_ids[i] = lookup.get(rule.key, -1)

    # Segments: the instants between consecutive window boundaries share one set of rules in force.
    bounds = np.unique(windows[windows != _NO_END])
    seg_of_t = np.searchsorted(bounds, t_ns, side="right")
    used, seg_col = np.unique(seg_of_t, return_inverse=True)
    seg_start = np.where(used > 0, bounds[np.maximum(used - 1, 0)], np.iinfo(np.int64).min)

    best = np.full((n, used.size), -1, dtype=np.int32)          # rank of the deciding unconditional rule
    for s, start in enumerate(seg_start):
        live = (windows[:, 0] <= start) & (windows[:, 1] > start) & (rule_ids >= 0) & ~conditional
        column_best = np.full(n, -1, dtype=np.int32)
        for kind in KINDS:
            mine = np.flatnonzero(live & (levels == PRECEDENCE[kind]))
            if mine.size == 0:
                continue
            table = np.full(vocab[kind].size, -1, dtype=np.int32)
            np.maximum.at(table, rule_ids[mine], rank_of[mine])
            np.maximum(column_best, table[inverse[kind]], out=column_best)
        best[:, s] = column_best

    rule_of_rank = np.append(order, -1).astype(np.int32)     # rank -1 → index -1
    seg_rule = rule_of_rank[best]                              # (n, segments)
    state_allows = np.array([r.state == "active" or (restricted_lands and r.state == "restricted")
                             for r in rules] + [default_allowed])
    seg_allowed = state_allows[seg_rule]
    per_instant = conditional.any() or registered.shape[1] > 1
    if not restricted_lands and not per_instant:
        for i, rule in enumerate(rules):
            if rule.state != "restricted":
                continue
            hit = seg_rule == i
            if not hit.any():
                continue
            ok = _allow_mask(rule.allow, columns["fleet"], tenants, plans, registered, home)[:, 0]
            seg_allowed[hit] = np.broadcast_to(ok[:, None], hit.shape)[hit]
    # Copy each segment's column into its run of instants (runs of equal segment; one run per
    # segment when the instants are sorted). Block copies beat a fancy-index gather several times.
    rule_index = np.empty((n, n_t), dtype=np.int32)
    allowed = np.empty((n, n_t), dtype=bool)
    run_start = np.flatnonzero(np.diff(seg_col, prepend=-1))
    run_end = np.append(run_start[1:], n_t)
    for a, b in zip(run_start.tolist(), run_end.tolist(), strict=True):
        s = seg_col[a]
        rule_index[:, a:b] = seg_rule[:, s:s + 1]
        allowed[:, a:b] = seg_allowed[:, s:s + 1]
    condition = np.zeros((n, n_t), dtype=np.int8)
    if restricted_lands or not per_instant:
        if not restricted_lands:
            _mark_allow_list(rules, rule_index, allowed, condition)
        return Decision(allowed, rule_index, condition)

    # Conditional rules: each applies where its subject matches, its window holds the instant, its
    # condition holds and it outranks the rule deciding so far.
    rank = np.where(rule_index >= 0, rank_of[np.maximum(rule_index, 0)], -1).astype(np.int32)
    for i in np.flatnonzero(conditional & (rule_ids >= 0)):
        rule = rules[i]
        subject = inverse[rule.kind] == rule_ids[i]
        in_window = (t_ns >= windows[i, 0]) & (t_ns < windows[i, 1])
        if not subject.any() or not in_window.any():
            continue
        holds = rule.when.holds(n=n, n_t=n_t, plan=plans, speed_kmh=inputs.get("speed_kmh"),
                                days_abroad=inputs.get("days_abroad"), offshore_nm=inputs.get("offshore_nm"))
        take = holds & subject[:, None] & in_window[None, :] & (rank < rank_of[i])
        rank[take] = rank_of[i]
        rule_index[take] = i
        condition[take] = rule.when.code
    allowed = state_allows[np.where(rule_index >= 0, rule_index, len(rules))]
    for i, rule in enumerate(rules):
        if rule.state != "restricted":
            continue
        hit = rule_index == i
        if hit.any():
            ok = np.broadcast_to(_allow_mask(rule.allow, columns["fleet"], tenants, plans, registered, home), hit.shape)
            allowed[hit] = ok[hit]
    _mark_allow_list(rules, rule_index, allowed, condition)
    return Decision(allowed, rule_index, condition)


def _mark_allow_list(rules, rule_index, allowed, condition) -> None:
    """Code ``allow`` where a restricted rule decided and did not let the terminal through."""
    restricted = np.array([r.state == "restricted" for r in rules] + [False])
    if not restricted.any():
        return
    refused = restricted[np.where(rule_index >= 0, rule_index, len(rules))] & ~allowed
    condition[refused & (condition == NO_CONDITION)] = ALLOW


def _registered(values, n: int, n_t: int) -> np.ndarray:
    """The ``registered`` input as bool (n, 1) or (n, n_t)."""
    if values is None:
        return np.zeros((n, 1), dtype=bool)
    array = np.asarray(values, dtype=bool)
    if array.ndim == 0:
        return np.full((n, 1), bool(array))
    if array.shape == (n,):
        return array[:, None]
    if array.shape == (n, n_t):
        return array
    raise LeosimInputError(f"registered has shape {array.shape}; expected ({n},) or ({n}, {n_t})",
                           field="registered")


def _allow_mask(allow: tuple[str, ...], fleet: np.ndarray, tenant: np.ndarray, plan: np.ndarray,
                registered: np.ndarray, home: np.ndarray) -> np.ndarray:
    """Who a restricted rule lets through: bool (n, 1) or (n, T) (``registered`` may vary in time)."""
    plain = [a for a in allow if a != "registered" and not a.startswith(("plan:", "registered:"))]
    fleets = {a.partition(":")[2] if a.startswith("fleet:") else a for a in plain
              if not a.startswith("tenant:")}
    tenants = {a.partition(":")[2] if a.startswith("tenant:") else a for a in plain
               if not a.startswith("fleet:")}
    plans = [a.partition(":")[2].strip().lower() for a in allow if a.startswith("plan:")]
    ok = (np.isin(fleet, list(fleets)) | np.isin(tenant, list(tenants)) | np.isin(plan, plans))[:, None]
    if "registered" in allow:
        ok = ok | registered
    countries = [a.partition(":")[2].strip().upper() for a in allow if a.startswith("registered:")]
    if countries:
        ok = ok | (registered & np.isin(home, countries)[:, None])
    return ok


def rules_from_config(section, *, source: str = "policy") -> list[Rule]:
    """Rules from a parsed TOML ``[policy]`` section: ``[[policy.rules]]`` tables with keys
    ``subject``, ``state``, ``from``, optional ``until``, ``allow``, ``decided_at``, ``by``, ``reason``,
    ``url``, ``source``, ``when`` (a table of conditions, see :mod:`leosim.policy.conditions`).

    TOML dates/datetimes or ISO strings are accepted; naive instants are UTC.
    """
    entries = section.get("rules", []) if isinstance(section, dict) else None
    if not isinstance(entries, list):
        raise LeosimInputError("[policy] needs a 'rules' array of tables ([[policy.rules]])", source=source,
                               field="rules")
    known = {"subject", "state", "from", "until", "allow", "decided_at", "by", "reason", "url", "source", "when"}
    rules = []
    for i, entry in enumerate(entries):
        where = f"rules[{i}]"
        if not isinstance(entry, dict):
            raise LeosimInputError("expected a table", source=source, field=where)
        unknown = set(entry) - known
        if unknown:
            raise LeosimInputError(f"unknown keys {sorted(unknown)}; accepted: {sorted(known)}",
                                   source=source, field=where)
        for key in ("subject", "state", "from"):
            if key not in entry:
                raise LeosimInputError(f"missing {key!r}", source=source, field=f"{where}.{key}")
        try:
            kwargs = {"subject": str(entry["subject"]), "state": str(entry["state"]),
                      "valid_from": _toml_instant(entry["from"]),
                      "valid_until": _toml_instant(entry["until"]) if "until" in entry else None,
                      "allow": tuple(entry.get("allow", ())), "decided_by": str(entry.get("by", "")),
                      "reason": str(entry.get("reason", "")), "url": str(entry.get("url", "")),
                      "source": str(entry.get("source", "")), "when": entry.get("when")}
            if "decided_at" in entry:
                kwargs["decided_at"] = _toml_instant(entry["decided_at"])
            rules.append(Rule(**kwargs))
        except LeosimInputError as error:
            raise LeosimInputError(error.message, source=source,
                                   field=f"{where}.{error.field or error.source}") from None
    return rules


def _toml_instant(value):
    import datetime as dt

    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return str(value)


def explain(rules, decision: Decision, cells, *, terminal_id, default_state: str = DEFAULT_STATE, plan=None,
            speed_kmh=None, days_abroad=None, offshore_nm=None) -> list[str]:
    """Wording of the verdict at chosen cells, e.g.
    ``T-0042 denied: 142 km/h > 75 km/h limit (except aviation, maritime plans), rule #7 UKR denied``.

    ``cells``: ``(terminal_index, time_index)`` integer arrays (M,) into the decision's (N, T) arrays;
    ``terminal_id`` (N,) and the condition inputs as given to :func:`decide` (days abroad as an array or
    a dict by year kind). Returns M strings. Wording is for reports and answers, not hot paths.
    """
    rows, cols = (np.asarray(c, dtype=np.int64) for c in cells)
    rules = list(rules)
    ids = np.asarray(terminal_id, dtype=str)
    plans = None if plan is None else np.asarray(plan, dtype=str)

    def value(array, r, c, year=None):
        if isinstance(array, dict):
            array = array.get(year)
        if array is None:
            return 0.0
        array = np.asarray(array, dtype=np.float64)
        return float(array[r] if array.ndim == 1 else array[r, c])

    out = []
    for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
        verdict = "allowed" if decision.allowed[r, c] else "denied"
        k = int(decision.rule_index[r, c])
        code = int(decision.condition[r, c])
        if k < 0:
            out.append(f"{ids[r]} {verdict}: default: {default_state} (no rule applies)")
            continue
        rule = rules[k]
        label = f"rule #{rule.rule_id if rule.rule_id is not None else k} ({rule.subject} {rule.state})"
        when = rule.when
        plan_text = f" on plan {plans[r] or 'none'}" if plans is not None else ""
        exempt = f" (except {', '.join(when.exempt_plans)} plans)" if when is not None and when.exempt_plans else ""
        if code == SPEED:
            why = f"{value(speed_kmh, r, c):.0f} km/h > {when.speed_above_kmh:g} km/h limit{exempt}"
        elif code == ROAMING:
            why = (f"{value(days_abroad, r, c, when.abroad_year):.1f} days abroad > {when.days_abroad_above:g} in "
                   f"the {when.abroad_year} year{plan_text}{exempt}")
        elif code == OFFSHORE:
            why = f"{value(offshore_nm, r, c):.1f} nm from land > {when.offshore_above_nm:g} nm{plan_text}{exempt}"
        elif code == PLAN:
            why = when.describe()
        elif code == ALLOW:
            why = f"not in the allow list ({', '.join(rule.allow)})"
        else:
            why = rule.reason or "by rule"
        out.append(f"{ids[r]} {verdict}: {why}, {label}")
    return out
