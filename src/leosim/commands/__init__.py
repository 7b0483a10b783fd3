"""CLI commands, one module per concept; each module has ``register(group)``."""
