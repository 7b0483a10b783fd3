"""Service policy: rules with effective windows, precedence, fleets and payers, and the audited store."""

from .._lazy import lazy_exports

_EXPORTS = {
    "AuditEntry": ".store",
    "BrokenEntry": ".store",
    "check_rules": ".rules",
    "cost_by_payer_month": ".fleets",
    "default_db_path": ".store",
    "DEFAULT_STATE": ".rules",
    "evaluate": ".rules",
    "Fleet": ".fleets",
    "fleets_from_config": ".fleets",
    "KINDS": ".rules",
    "landing_rights": ".rules",
    "PayerPeriod": ".fleets",
    "PolicyStore": ".store",
    "Rule": ".rules",
    "rules_from_config": ".rules",
    "STATES": ".rules",
    "subject_kind": ".rules",
    "Tenant": ".fleets",
    "tenant_priority": ".fleets",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

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
