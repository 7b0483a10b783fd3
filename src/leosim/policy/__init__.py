"""Service policy: rules with effective windows, precedence, fleets and payers, and the audited store."""

from .conditions import CONDITION_NAMES, Condition
from .fleets import Fleet, PayerPeriod, Tenant, cost_by_payer_month, fleets_from_config, tenant_priority
from .registry import PLANS, TerminalRegistry, synthesise_fleet
from .rules import (
    DEFAULT_STATE,
    KINDS,
    STATES,
    Decision,
    Rule,
    check_rules,
    decide,
    evaluate,
    explain,
    landing_rights,
    rules_from_config,
    subject_kind,
)
from .store import AuditEntry, BrokenEntry, PolicyStore, default_db_path

__all__ = [
    "CONDITION_NAMES",
    "DEFAULT_STATE",
    "KINDS",
    "PLANS",
    "STATES",
    "AuditEntry",
    "BrokenEntry",
    "Condition",
    "Decision",
    "Fleet",
    "PayerPeriod",
    "PolicyStore",
    "Rule",
    "Tenant",
    "TerminalRegistry",
    "check_rules",
    "cost_by_payer_month",
    "decide",
    "default_db_path",
    "evaluate",
    "explain",
    "fleets_from_config",
    "landing_rights",
    "rules_from_config",
    "subject_kind",
    "synthesise_fleet",
    "tenant_priority",
]
