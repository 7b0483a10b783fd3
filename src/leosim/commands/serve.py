"""CLI commands ``leosim serve`` (the HTTP API and the globe) and ``leosim token create|list|revoke``."""

from __future__ import annotations

import click

from ..errors import LeosimInputError

_DB_HELP = "policy store (SQLite file); default $LEOSIM_DB or the per-user data directory"


def register(group) -> None:
    """Add this module's commands to the top-level ``leosim`` group."""
    group.add_command(serve)
    group.add_command(token_group)


@click.command()
@click.argument("scenario", required=False, type=click.Path(dir_okay=False))
@click.option("--results", "results_dir", type=click.Path(file_okay=False),
              help="A `leosim run` output folder to answer from (its scenario is rebuilt when none is given).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind. Reads are open on loopback and need a token anywhere else.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
@click.option("--no-run", is_flag=True, help="Do not run a small scenario at start-up (compute on demand only).")
@click.option("--cors-origin", "cors_origins", multiple=True, metavar="ORIGIN",
              help="Allow cross-origin reads from this origin (repeatable; default none).")
def serve(scenario, results_dir, host, port, db, no_run, cors_origins):
    """Serve the HTTP API (/api, /openapi.json) and the globe (/) for SCENARIO.toml or --results DIR.

    Without either, serves starlink-gen1 with the default cities, gateways and PoPs over two hours from
    the current hour. Writes (POST /api/policy) need an operator token: `leosim token create`.
    """
    from .._extras import import_extra

    for module in ("fastapi", "uvicorn"):
        import_extra(module, extra="serve", feature="leosim serve")
    import uvicorn

    from ..web import ServerState, create_app
    from ..web.app import cesium_available, uvicorn_log_config
    from ..web.auth import is_loopback

    scenario_obj = None
    if scenario is not None:
        from ..scenario.api import Scenario

        scenario_obj = Scenario.from_toml(scenario)
    if results_dir is not None:
        state = ServerState.from_results(results_dir, scenario=scenario_obj, db_path=db)
    elif scenario_obj is not None:
        state = ServerState.from_scenario(scenario_obj, db_path=db)
        if not no_run:
            state.run_in_background(scenario_obj)
    else:
        state = ServerState.default(db_path=db)
    state.prewarm()
    app = create_app(state, host=host, cors_origins=cors_origins)
    if not is_loopback(host):
        click.echo(f"note: bound to {host}: every request needs a token (Authorization: Bearer)", err=True)
    if not cesium_available():
        click.echo("note: the globe's CesiumJS assets are not built (scripts/build_web_assets.sh); "
                   "the API works", err=True)
    click.echo(f"leosim serve: http://{host}:{port}/  (API at /api, schema at /openapi.json)", err=True)
    # Tokens travel only in the Authorization header, which uvicorn's access log never prints; one sent in a
    # query string anyway is refused, and redacted from the access log.
    uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, proxy_headers=False,
                log_config=uvicorn_log_config())


@click.group("token")
def token_group():
    """API tokens for `leosim serve` (stored only as SHA-256 hashes in the policy store)."""


@token_group.command("create")
@click.option("--role", required=True, type=click.Choice(["viewer", "operator", "admin"]),
              help="viewer: read; operator and admin: also change policy.")
@click.option("--name", required=True, help="Who holds the token (the author of their policy changes).")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def token_create(role, name, db):
    """Make a token; it is printed once, alone on the last line, and never stored in clear."""
    from ..policy.store import PolicyStore
    from ..policy.tokens import create_token

    with PolicyStore(db) as store:
        token = create_token(store, name=name, role=role)
    click.echo(f"token for {name} ({role}); keep it now, it cannot be shown again:", err=True)
    click.echo(token)


@token_group.command("list")
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def token_list(db):
    """Tokens by id, name, role and dates (never the token or its hash)."""
    from ..policy.store import PolicyStore
    from ..policy.tokens import list_tokens

    with PolicyStore(db, read_only=True) as store:
        rows = list_tokens(store)
    if not rows:
        click.echo("no tokens")
        return
    for row in rows:
        click.echo(f"#{row['id']}  {row['name']}  {row['role']}  created {row['created_at']}"
                   + (f"  revoked {row['revoked_at']}" if row["revoked_at"] else ""))


@token_group.command("revoke")
@click.argument("token_id", type=int)
@click.option("--db", type=click.Path(dir_okay=False), help=_DB_HELP)
def token_revoke(token_id, db):
    """Revoke token #TOKEN_ID (see `leosim token list`)."""
    from ..policy.store import PolicyStore
    from ..policy.tokens import revoke_token

    if token_id <= 0:
        raise LeosimInputError("token ids are positive", field="TOKEN_ID")
    with PolicyStore(db) as store:
        revoke_token(store, token_id)
    click.echo(f"revoked token #{token_id}")
