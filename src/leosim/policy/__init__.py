"""Service policy: rules with effective windows, precedence, fleets and payers, and the audited store."""

from .fleets import Fleet, PayerPeriod, Tenant, cost_by_payer_month, fleets_from_config, tenant_priority
from .rules import (
    DEFAULT_STATE,
    KINDS,
    STATES,
    Rule,
    check_rules,
    evaluate,
    landing_rights,
    rules_from_config,
    subject_kind,
)
from .store import AuditEntry, BrokenEntry, PolicyStore, default_db_path

__all__ = [
    "DEFAULT_STATE",
    "KINDS",
    "STATES",
    "AuditEntry",
    "BrokenEntry",
    "Fleet",
    "PayerPeriod",
    "PolicyStore",
    "Rule",
    "Tenant",
    "check_rules",
    "cost_by_payer_month",
    "default_db_path",
    "evaluate",
    "fleets_from_config",
    "landing_rights",
    "rules_from_config",
    "subject_kind",
    "tenant_priority",
]
