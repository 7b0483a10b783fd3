"""Service-policy rules and their vectorised evaluation: who gets service where, when.

A :class:`Rule` sets the service **state** of a **subject** over a half-open effective window
``[valid_from, valid_until)`` (``valid_until`` None = open-ended):

* subjects: a country (ISO 3166 alpha-3, e.g. ``UKR``), a custom region (``region:Crimea``), a fleet
  (``fleet:NAME``) or one terminal (``terminal:ID``);
* states: ``active`` (service on), ``denied`` (off), ``restricted`` (on only for the tenants or fleets
  named in ``allow``: ``fleet:NAME`` / ``tenant:NAME``; a bare name matches either).

Precedence (deterministic): the more specific subject wins — terminal > fleet > custom region >
country. Among rules of the same kind that apply to a terminal at an instant, the later decision
(``decided_at``) wins; where that ties too, the rule listed later wins. Two rules for the *same*
subject with overlapping windows, the same ``decided_at`` and different outcomes are a contradiction:
:func:`check_rules` (called by :func:`evaluate`) raises :class:`LeosimInputError` naming both.

Where no rule applies, the ``default_state`` holds; it is ``denied`` by default, since service is the
operator's decision, not a given.

Gateway landing rights (:func:`landing_rights`) follow the state of the gateway's territory (country
and region rules only): a gateway lands traffic unless its territory is ``denied`` (under
``restricted`` it lands the allowed tenants' traffic; the per-terminal check does the rest).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import LeosimInputError
from ..timebase import Times, check_utc_range, parse_utc

STATES = ("active", "denied", "restricted")
#: Subject kinds in increasing precedence.
KINDS = ("country", "region", "fleet", "terminal")
PRECEDENCE = {kind: level for level, kind in enumerate(KINDS)}
DEFAULT_STATE = "denied"
_NO_END = np.iinfo(np.int64).max


def subject_kind(subject: str) -> tuple[str, str]:
    """``(kind, key)`` of a canonical subject: ``'UKR'`` → ``('country', 'UKR')``,
    ``'region:Crimea'`` → ``('region', 'Crimea')``, ``'fleet:X'``, ``'terminal:ID'``."""
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
                           f"written region:NAME, fleets fleet:NAME, terminals terminal:ID",
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
    ``allow`` lists the tenants/fleets a ``restricted`` rule lets through. ``decided_at`` orders
    decisions of equal precedence (later wins); ``decided_by`` and ``reason`` say who and why.
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

    def __post_init__(self):
        kind, key = subject_kind(self.subject)
        canonical = key if kind == "country" else f"{kind}:{key}"
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
        ident = f"#{self.rule_id} " if self.rule_id is not None else ""
        return f"{ident}{self.subject} {self.state}{extra} [{self.valid_from}, {until}) decided {self.decided_at}"


def _window(rule: Rule) -> tuple[int, int]:
    start = int(rule.valid_from.astype(np.int64))
    end = _NO_END if rule.valid_until is None else int(rule.valid_until.astype(np.int64))
    return start, end


def check_rules(rules) -> None:
    """Raise :class:`LeosimInputError` for contradicting rules: same subject, overlapping windows, same
    ``decided_at``, different state or allow list (precedence cannot decide between them)."""
    by_subject: dict[tuple, list[tuple[int, Rule]]] = {}
    for index, rule in enumerate(rules):
        by_subject.setdefault((rule.subject, int(rule.decided_at.astype(np.int64))), []).append((index, rule))
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


def _instants_ns(instants) -> np.ndarray:
    if isinstance(instants, Times):
        return instants.utc.astype(np.int64)
    array = np.atleast_1d(np.asarray(instants))
    if array.dtype.kind == "M":  # range-checked in its own unit before datetime64[ns] could wrap it
        return check_utc_range(array, source="instants").astype(np.int64)
    return Times.from_utc(array).utc.astype(np.int64)


def _column(values, n: int, name: str) -> np.ndarray:
    if values is None:
        return np.full(n, "", dtype=str)
    array = np.asarray(values, dtype=str)
    if array.ndim == 0:
        return np.full(n, str(array), dtype=str)
    if array.shape != (n,):
        raise LeosimInputError(f"{name} has shape {array.shape}; expected ({n},) like territory", field=name)
    return array


def _state_allowed(state: str) -> bool:
    if state not in ("active", "denied"):
        raise LeosimInputError(f"default state must be active or denied, got {state!r}",
                               field="default_state")
    return state == "active"


def evaluate(rules, *, territory, region=None, fleet=None, terminal_id=None, instants, tenant=None,
             default_state: str = DEFAULT_STATE, check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Whether each terminal is allowed service at each instant, and which rule decided.

    ``rules``: sequence of :class:`Rule`. Per terminal, 1-D str arrays of length N (or a scalar for
    all, or None for none): ``territory`` (country alpha-3, '' at sea), ``region`` (custom region name,
    '' for none), ``fleet``, ``terminal_id``, ``tenant`` (the fleet's tenant, for ``restricted``
    rules). ``instants``: :class:`~leosim.timebase.Times`, datetime64 array or ISO strings, shape (T,).

    Returns ``(allowed, rule_index)``: bool array (N, T) and int32 array (N, T) of the index into
    ``rules`` of the deciding rule, -1 where no rule applies and ``default_state`` holds.
    """
    return _evaluate(rules, territory=territory, region=region, fleet=fleet, terminal_id=terminal_id,
                     instants=instants, tenant=tenant, default_state=default_state, check=check,
                     restricted_lands=False)


def landing_rights(rules, *, territory, region=None, instants, default_state: str = DEFAULT_STATE,
                   check: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Whether each gateway may land traffic at each instant: its territory's state is not ``denied``.

    Only country and region rules count. Shapes and returns as in :func:`evaluate` (gateways for
    terminals).
    """
    territorial = [r if r.kind in ("country", "region") else None for r in rules]
    kept = [r for r in territorial if r is not None]
    index_map = np.array([i for i, r in enumerate(territorial) if r is not None] + [-1], dtype=np.int32)
    allowed, local = _evaluate(kept, territory=territory, region=region, fleet=None, terminal_id=None,
                               instants=instants, tenant=None, default_state=default_state, check=check,
                               restricted_lands=True)
    return allowed, index_map[local]


def _evaluate(rules, *, territory, region, fleet, terminal_id, instants, tenant, default_state, check,
              restricted_lands):
    rules = list(rules)
    default_allowed = _state_allowed(default_state)
    if check:
        check_rules(rules)
    territory = np.atleast_1d(np.asarray(territory, dtype=str))
    n = territory.shape[0]
    columns = {
        "country": np.char.upper(territory) if n else territory,
        "region": _column(region, n, "region"),
        "fleet": _column(fleet, n, "fleet"),
        "terminal": _column(terminal_id, n, "terminal_id"),
    }
    tenants = _column(tenant, n, "tenant")
    t_ns = _instants_ns(instants)
    n_t = t_ns.size
    if not rules or n == 0 or n_t == 0:
        return np.full((n, n_t), default_allowed, dtype=bool), np.full((n, n_t), -1, dtype=np.int32)

    windows = np.array([_window(r) for r in rules], dtype=np.int64).reshape(-1, 2)
    levels = np.array([PRECEDENCE[r.kind] for r in rules])
    decided = np.array([int(r.decided_at.astype(np.int64)) for r in rules], dtype=np.int64)
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

    best = np.full((n, used.size), -1, dtype=np.int32)          # rank of the deciding rule
    for s, start in enumerate(seg_start):
        live = (windows[:, 0] <= start) & (windows[:, 1] > start) & (rule_ids >= 0)
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
    if not restricted_lands:
        for i, rule in enumerate(rules):
            if rule.state != "restricted":
                continue
            hit = seg_rule == i
            if not hit.any():
                continue
            ok = _allow_mask(rule.allow, columns["fleet"], tenants)
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
    return allowed, rule_index


def _allow_mask(allow: tuple[str, ...], fleet: np.ndarray, tenant: np.ndarray) -> np.ndarray:
    fleets = {a.partition(":")[2] if a.startswith("fleet:") else a for a in allow
              if not a.startswith("tenant:")}
    tenants = {a.partition(":")[2] if a.startswith("tenant:") else a for a in allow
               if not a.startswith("fleet:")}
    return np.isin(fleet, list(fleets)) | np.isin(tenant, list(tenants))


def rules_from_config(section, *, source: str = "policy") -> list[Rule]:
    """Rules from a parsed TOML ``[policy]`` section: ``[[policy.rules]]`` tables with keys
    ``subject``, ``state``, ``from``, optional ``until``, ``allow``, ``decided_at``, ``by``, ``reason``,
    ``url``, ``source``.

    TOML dates/datetimes or ISO strings are accepted; naive instants are UTC.
    """
    entries = section.get("rules", []) if isinstance(section, dict) else None
    if not isinstance(entries, list):
        raise LeosimInputError("[policy] needs a 'rules' array of tables ([[policy.rules]])", source=source,
                               field="rules")
    known = {"subject", "state", "from", "until", "allow", "decided_at", "by", "reason", "url", "source"}
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
                      "source": str(entry.get("source", ""))}
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
