"""Running phoneline: migrate, serve, worker, demo."""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import sys
import tempfile

import typer

from phoneline.cli.common import (
    CommandFailed,
    JsonOption,
    command,
    output,
    redacted_url,
    require_free_port,
    run_in_session,
)
from phoneline.partners import service as partners
from phoneline.settings import Settings


def getting_started(base_url: str, exe: str = "phoneline") -> list[str]:
    return [
        f'{exe} partners create "Acme"          # prints the partner id and its API key (shown once)',
        f"{exe} lines assign +12025550123 --partner PARTNER_ID",
        f'curl -H "Authorization: Bearer API_KEY" {base_url}/api/partner/v3/phone_numbers',
    ]


@command
def migrate(as_json: bool = JsonOption) -> None:
    """Apply database migrations."""
    from phoneline.db.migrate import current_revision, upgrade

    settings = Settings()
    upgrade(settings)
    doc = {"database": redacted_url(settings.sync_database_url), "revision": current_revision(settings)}
    output(doc, as_json, lambda d: f"database {d['database']} is at revision {d['revision']}")


@command
def serve(
    host: str | None = typer.Option(None, help="Interface to bind (default PHONELINE_HOST or 127.0.0.1)."),
    port: int | None = typer.Option(None, help="Port (default PHONELINE_PORT or 8080)."),
    workers: int = typer.Option(1, min=1, help="uvicorn worker processes."),
    log_format: str | None = typer.Option(
        None, help="json or console (default PHONELINE_LOG_FORMAT or json)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Serve the partner API, admin API and dashboard (migrates SQLite first)."""
    import uvicorn

    from phoneline.db.migrate import upgrade
    from phoneline.startup import check_admin_token, verify_secret_keys

    settings = Settings()
    check_admin_token(settings)
    # The factory re-reads settings in each worker, so pass the CLI's choices through the environment.
    os.environ["PHONELINE_HOST"] = host = host or settings.host
    os.environ["PHONELINE_PORT"] = str(port := port or settings.port)
    os.environ["PHONELINE_LOG_FORMAT"] = log_format or settings.log_format
    if workers > 1:
        # What the processes share, removed when serve exits.
        shared_dir = tempfile.mkdtemp(prefix="phoneline-serve-")
        atexit.register(shutil.rmtree, shared_dir, True)
        # One process runs the shared background work; the others take over if it exits.
        os.environ["PHONELINE_SERVE_LEADER_LOCK"] = os.path.join(shared_dir, "jobs.lock")
        if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            # One /metrics across the processes: each writes its samples here, any scrape sums them.
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.path.join(shared_dir, "metrics")
            os.mkdir(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    settings = Settings()
    if settings.is_sqlite:
        upgrade(settings)
    run_in_session(lambda session: verify_secret_keys(session, settings))
    # After the checks of the configuration, before anything says it serves.
    require_free_port(host, port)
    empty = not run_in_session(partners.list_partners)
    exe = "phoneline" if os.path.dirname(sys.argv[0]) in ("", "/usr/local/bin") else sys.argv[0]
    hints = getting_started(settings.base_url, exe) if empty else []
    doc = {
        "url": settings.base_url,
        "database": redacted_url(settings.sync_database_url),
        "getting_started": hints,
    }
    output(
        doc,
        as_json,
        lambda d: (
            f"phoneline serving on {d['url']}"
            + (
                "\nThe database is empty. To get going:\n  " + "\n  ".join(d["getting_started"])
                if hints
                else ""
            )
        ),
    )
    sys.stdout.flush()
    uvicorn.run(
        "phoneline.app:create_app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # phoneline writes its own access log (api/middleware.py).
        access_log=False,
        log_level="warning",
        # httptools, with the header limit it lacks (api/http_protocol.py): an oversized header is
        # refused before it is read whole. The limit travels in uvicorn's own setting for it.
        http="phoneline.api.http_protocol:BoundedHttpToolsProtocol",
        h11_max_incomplete_event_size=settings.max_header_bytes,
    )


@command
def worker(
    concurrency: int | None = typer.Option(None, min=1, help="Webhook deliveries in flight at once."),
    metrics_port: int | None = typer.Option(
        None, "--metrics-port", min=1, max=65535, help="Serve Prometheus metrics on this port (/metrics)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Run the background jobs (webhooks, alerts, line health) until SIGTERM/SIGINT; any number may run
    on PostgreSQL."""
    from phoneline.db.migrate import upgrade
    from phoneline.jobs.runtime import default_worker_id
    from phoneline.logging import configure_logging
    from phoneline.startup import verify_secret_keys
    from phoneline.worker import run_worker

    settings = Settings()
    # Logs go to stderr (JSON by default): stdout carries only the one --json document.
    configure_logging(settings.log_format, settings.log_level)
    if concurrency is not None:
        settings = settings.model_copy(update={"webhook_concurrency": concurrency})
    if settings.is_sqlite:
        upgrade(settings)
    # A key set that reads none of the stored secrets would fail every delivery later: say so now.
    run_in_session(lambda session: verify_secret_keys(session, settings))
    if metrics_port is not None:
        require_free_port(settings.host, metrics_port, what="--metrics-port")
    worker_id = default_worker_id()
    doc = {
        "worker": worker_id,
        "database": redacted_url(settings.sync_database_url),
        "concurrency": settings.webhook_concurrency,
        "metrics": f"http://{settings.host}:{metrics_port}/metrics" if metrics_port else None,
    }
    output(doc, as_json, lambda d: f"phoneline worker {d['worker']} working from {d['database']}")
    sys.stdout.flush()
    asyncio.run(run_worker(settings, worker_id, metrics_port=metrics_port))


@command
def demo(
    host: str = typer.Option("127.0.0.1", help="Interface to bind."),
    port: int | None = typer.Option(
        None, min=0, max=65535, help="Port (default: the first free one from 8081; 0 = any free port)."
    ),
    speed: float = typer.Option(
        1.0, min=1.0, max=20.0, help="Run the story this many times faster (the demo test uses 4)."
    ),
    as_json: bool = JsonOption,
) -> None:
    """Start a demo server on a fresh SQLite file and drive a two-minute story; nothing leaves the machine.

    One line is flagged by the simulated carrier (Slack message, PagerDuty trigger), then recovers
    (the resolve); /demo/sinks shows every webhook and alert as received.
    """
    from phoneline.demo import launch
    from phoneline.demo.driver import DemoFailed, Pace

    def say(text: str) -> None:
        if not as_json:
            typer.echo(text)

    def started(demo_started: launch.DemoStarted) -> None:
        doc = demo_started.doc()
        output(doc, as_json, lambda d: f"phoneline demo serving on {d['url']}")
        sys.stdout.flush()

    try:
        launch.run(host, port, Pace(speed), say, started)
    except DemoFailed as error:
        raise CommandFailed(f"the demo could not run: {error}") from None
