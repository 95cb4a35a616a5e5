"""The `phoneline` operator CLI: one module per command group, assembled here.

Every command takes `--json` and then prints exactly one JSON document on stdout; errors go to stderr
with a non-zero exit. Commands call the same services as the admin API; the command is the boundary
that commits.
"""

from __future__ import annotations

import typer

from phoneline.cli import jobs, lines, partners, reputation, secrets, server, sim, webhooks

app = typer.Typer(
    help="phoneline: phone lines for the Linq Partner API v3.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for run_command in (server.migrate, server.serve, server.worker, server.demo):
    app.command()(run_command)
app.add_typer(partners.app, name="partners")
app.add_typer(partners.keys_app, name="keys")
app.add_typer(lines.app, name="lines")
app.add_typer(sim.app, name="sim")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(reputation.app, name="reputation")
app.add_typer(jobs.app, name="jobs")
app.add_typer(secrets.app, name="secrets")
