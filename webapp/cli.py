"""The `idflow` command: document tools from `processing`, the web server and its housekeeping."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from processing.cli import EXIT_OK, EXIT_USAGE, register_commands, run
from webapp.benchcommands import add_commands as add_bench_commands
from webapp.config import from_environment, settings
from webapp.datacommands import add_commands
from webapp.errors import ApiError


def _app() -> Flask:
    """The app without its job threads, its schema up to date: a command runs, finishes, exits."""
    from webapp import create_app
    from webapp.db import upgrade

    app = create_app({"JOB_WORKERS": 0})
    upgrade(app)
    return app


def _serve(args: argparse.Namespace) -> int:
    """Serve with gunicorn, never Flask's debug server: this is what production runs."""
    from gunicorn.app.wsgiapp import WSGIApplication

    from webapp.serving import gunicorn_arguments

    _share_metrics()
    text_logs = settings(_app()).log_format == "text"
    arguments = gunicorn_arguments(args.host, args.port, args.workers, args.threads, text_logs)
    sys.argv = ["gunicorn", *arguments]
    WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").run()
    return EXIT_OK


def _share_metrics() -> None:
    """Capture rejections are counted in each gunicorn worker (`webapp.metrics`): the workers
    write them to one folder, emptied here so counts start with the server, as Prometheus
    expects. Set before prometheus-client is imported, which reads it then; an operator's own
    folder is left alone."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    folder = Path(from_environment()["DATA_DIR"]) / "prometheus"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(mode=0o700, parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)


def _db_upgrade(_args: argparse.Namespace) -> int:
    _app()
    print("database schema is up to date")
    return EXIT_OK


def _platform_create(args: argparse.Namespace) -> int:
    from webapp.db import database
    from webapp.platforms import create_platform

    with database(_app()).sessions() as db:
        created = create_platform(db, args.name)
    if args.json:
        print(
            json.dumps(
                {
                    "id": created.platform.id,
                    "secret_key": created.secret_key,
                    "test_secret_key": created.test_secret_key,
                }
            )
        )
    else:
        print(f"platform {created.platform.id} ({created.platform.name})")
        print(f"live secret key (shown once, keep it safe): {created.secret_key}")
        print(f"test secret key (test sessions only, shown once): {created.test_secret_key}")
    return EXIT_OK


def _platform_brand(args: argparse.Namespace) -> int:
    from webapp import branding
    from webapp.db import database

    if args.name is None and args.color is None and args.icon is None:
        print("idflow: give --name, --color or --icon", file=sys.stderr)
        return EXIT_USAGE
    try:
        icon = args.icon.read_bytes() if args.icon is not None else None
    except OSError as exc:
        print(f"idflow: cannot read the icon: {exc.strerror}: {args.icon}", file=sys.stderr)
        return EXIT_USAGE
    with database(_app()).sessions() as db:
        platform = branding.set_brand(
            db, args.platform, name=args.name, color=args.color, icon=icon
        )
        shown = branding.brand(platform)
    print(f"platform {platform.id} shows as {shown.name!r}")
    if platform.brand_color and shown.accent != platform.brand_color:
        print(f"accent {platform.brand_color} is too pale for white text; shown as {shown.accent}")
    return EXIT_OK


def _webhook_add(args: argparse.Namespace) -> int:
    from webapp import representations, webhooks
    from webapp.db import database
    from webapp.models import Platform
    from webapp.platforms import Caller

    app = _app()
    with app.app_context(), database(app).sessions() as db:
        if db.get(Platform, args.platform) is None:
            print(f"idflow: no such platform: {args.platform}", file=sys.stderr)
            return EXIT_USAGE
        request = webhooks.parse_endpoint({"url": args.url, "enabled_events": args.events})
        endpoint = webhooks.create_endpoint(db, Caller(args.platform, not args.test), request)
        db.commit()
        shown = representations.webhook_endpoint(endpoint, with_secret=True)
    if args.json:
        print(json.dumps(shown))
    else:
        mode = "live" if shown["livemode"] else "test"
        print(f"webhook endpoint {shown['id']} ({mode}) -> {shown['url']}")
        print(f"events: {', '.join(shown['enabled_events'])}")
        print(f"signing secret (shown once, keep it safe): {shown['secret']}")
    return EXIT_OK


def _operator_add(args: argparse.Namespace) -> int:
    from webapp import crypto, operators
    from webapp.db import database

    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    app = _app()
    with app.app_context(), database(app).sessions() as db:
        ring = app.extensions[crypto.RING_EXTENSION]
        added = operators.add(db, ring, args.email, args.role, args.platform, password)
        db.commit()
        scope = added.operator.platform_id or "all platforms"
        print(f"operator {added.operator.id} ({args.role}, {scope})")
    if added.one_time_password is not None:
        print(
            f"one-time password (shown once, to be changed at first login): "
            f"{added.one_time_password}"
        )
    return EXIT_OK


def _operator_list(_args: argparse.Namespace) -> int:
    from webapp.db import database
    from webapp.models import Operator

    app = _app()
    with app.app_context(), database(app).sessions() as db:
        for operator in db.scalars(select(Operator).order_by(Operator.created_at)):
            state = "disabled" if operator.disabled_at else "active"
            scope = operator.platform_id or "all platforms"
            print(f"{operator.id}  {operator.email}  {operator.role}  {scope}  {state}")
    return EXIT_OK


def _operator_disable(args: argparse.Namespace) -> int:
    from webapp import crypto, operators
    from webapp.db import database

    app = _app()
    with app.app_context(), database(app).sessions() as db:
        operator = operators.disable(db, app.extensions[crypto.RING_EXTENSION], args.email)
        db.commit()
        print(f"operator {operator.id} disabled")
    return EXIT_OK


def _operator_reset_totp(args: argparse.Namespace) -> int:
    """For an operator who lost the authenticator app: the next sign-in wants the password."""
    from webapp import crypto, operators
    from webapp.db import database

    app = _app()
    with app.app_context(), database(app).sessions() as db:
        operator = operators.found(db, app.extensions[crypto.RING_EXTENSION], args.email)
        operators.reset_totp(db, None, operator)
        db.commit()
        print(f"operator {operator.id}: second factor removed; it can be set up again")
    return EXIT_OK


def _jobs_run(_args: argparse.Namespace) -> int:
    """Drain due jobs once; a worker machine runs `idflow worker` instead."""
    from webapp.jobs import run_pending, work

    app = _app()
    if settings(app).queue_url:
        work(app, burst=True)  # an RQ worker that stops once the queue is empty
        return EXIT_OK
    print(f"ran {run_pending(app)} job(s)")
    return EXIT_OK


def _worker(args: argparse.Namespace) -> int:
    """Only the job runner: machines that process while others serve (`IDFLOW_JOB_WORKERS=0`)."""
    from webapp import create_app
    from webapp.jobs import work

    app = create_app({"JOB_WORKERS": args.threads})  # no runner threads start with a QUEUE_URL
    if settings(app).queue_url:
        print("working jobs from Redis (one RQ worker with its scheduler); Ctrl-C stops")
        work(app)
        return EXIT_OK
    runner = app.extensions["idflow.job_runner"]
    print(f"working jobs with {args.threads} thread(s); Ctrl-C stops")
    try:
        for thread in runner.threads:
            thread.join()
    except KeyboardInterrupt:
        runner.stop()
    return EXIT_OK


def _demo(_args: argparse.Namespace) -> int:
    """A platform and a session to try the hosted flow at once, as `make run` does."""
    from webapp import sessions
    from webapp.db import database
    from webapp.links import hosted_url
    from webapp.models import Platform
    from webapp.platforms import Caller, create_platform, issue_key

    app = _app()
    with app.app_context(), database(app).sessions() as db:
        platform = db.scalar(select(Platform).where(Platform.name == "Demo platform"))
        if platform is None:
            created = create_platform(db, "Demo platform")
            platform, secret = created.platform, created.secret_key
        else:
            secret = issue_key(db, platform)
        request = sessions.parse_create(
            {
                "type": "document",
                "options": {"document": {"require_matching_selfie": True}},
                "return_url": f"{settings(app).base_url}/health",
                "client_reference_id": "demo",
            }
        )
        session = sessions.create(
            db, Caller(platform.id, True), request, settings(app).session_ttl_hours
        )
        db.commit()
        link = hosted_url(settings(app).base_url, session)
    base = settings(app).base_url
    print(f"Hosted verification link: {link}")
    print(f"Demo platform {platform.id}, new secret key: {secret}")
    print("Create another session:")
    print(
        f"  curl -s {base}/v1/identity/verification_sessions -H 'Authorization: Bearer {secret}' "
        "-d type=document -d 'options[document][require_matching_selfie]=true'"
    )
    print(
        f"  curl -s {base}/v1/identity/verification_sessions/{session.id} "
        f"-H 'Authorization: Bearer {secret}'"
    )
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="idflow", description="Self-hosted identity verification."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    register_commands(commands)

    serve = commands.add_parser("serve", help="serve the web app with gunicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=2)
    serve.add_argument("--threads", type=int, default=4, help="threads per worker process")
    serve.set_defaults(handler=_serve)

    db = commands.add_parser("db", help="database schema").add_subparsers(
        dest="action", required=True
    )
    db.add_parser("upgrade", help="apply the migrations").set_defaults(handler=_db_upgrade)

    platform = commands.add_parser("platform", help="platforms and their API keys")
    platform_actions = platform.add_subparsers(dest="action", required=True)
    create = platform_actions.add_parser("create", help="create a platform; prints its secret key")
    create.add_argument("name")
    create.add_argument(
        "--json", action="store_true", help="print {id, secret_key, test_secret_key}"
    )
    create.set_defaults(handler=_platform_create)
    brand = platform_actions.add_parser(
        "brand", help="the name, accent colour and icon the hosted pages show"
    )
    brand.add_argument("platform", help="platform id (plat_...)")
    brand.add_argument("--name", help="display name shown to the people being verified")
    brand.add_argument("--color", help="accent colour as #RRGGBB; darkened if too pale")
    brand.add_argument("--icon", type=Path, help="PNG, JPEG or WebP file, at most 1 MB")
    brand.set_defaults(handler=_platform_brand)

    webhook = commands.add_parser("webhook", help="webhook endpoints")
    webhook_actions = webhook.add_subparsers(dest="action", required=True)
    add = webhook_actions.add_parser("add", help="register an endpoint; prints its whsec_ secret")
    add.add_argument("--platform", required=True, help="platform id (plat_...)")
    add.add_argument("url", help="absolute http(s) URL that receives the POSTs")
    add.add_argument(
        "--events", nargs="+", default=["*"], help="event types to send (default: all, '*')"
    )
    add.add_argument("--test", action="store_true", help="an endpoint for test-mode events")
    add.add_argument("--json", action="store_true", help="print the endpoint with its secret")
    add.set_defaults(handler=_webhook_add)

    operator = commands.add_parser("operator", help="staff accounts of the console")
    operator_actions = operator.add_subparsers(dest="action", required=True)
    add_operator = operator_actions.add_parser(
        "add", help="add a console account; prints a one-time password"
    )
    add_operator.add_argument("email")
    add_operator.add_argument("--role", required=True, choices=["admin", "reviewer", "viewer"])
    add_operator.add_argument(
        "--platform", default=None, help="platform id (plat_...); without it instance-wide"
    )
    add_operator.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add_operator.set_defaults(handler=_operator_add)
    operator_actions.add_parser("list", help="list the console accounts").set_defaults(
        handler=_operator_list
    )
    disable = operator_actions.add_parser("disable", help="disable a console account")
    disable.add_argument("email")
    disable.set_defaults(handler=_operator_disable)
    reset_totp = operator_actions.add_parser(
        "reset-totp", help="remove an account's second factor (a lost authenticator app)"
    )
    reset_totp.add_argument("email")
    reset_totp.set_defaults(handler=_operator_reset_totp)

    jobs = commands.add_parser("jobs", help="background jobs").add_subparsers(
        dest="action", required=True
    )
    jobs.add_parser("run", help="run every due job once, then exit").set_defaults(handler=_jobs_run)

    worker = commands.add_parser("worker", help="run background jobs until stopped")
    worker.add_argument(
        "--threads", type=int, default=2, help="embedded queue only; with Redis run more workers"
    )
    worker.set_defaults(handler=_worker)

    add_commands(commands, _app)
    add_bench_commands(commands)

    commands.add_parser("demo", help="create a demo session and print its link").set_defaults(
        handler=_demo
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(build_parser().parse_args(argv))
    except ApiError as exc:
        print(f"idflow: {exc.message}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
