"""Settings from `IDFLOW_*` environment variables, with defaults that need no services at all.

Every variable is listed with its default in README's "Configuration" section. They are parsed
once into Flask-style upper-case keys (`from_environment`), the app's own overrides go on top, and
`create_app` freezes the result into one typed `Settings` that the code reads (`settings()`):
no string lookups or casts at the call sites.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from flask import Flask, current_app

_EXTENSION = "idflow.settings"

_SECRET_FILE = "secret_key"


def _int(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, not {raw!r}") from exc


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (environ.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SystemExit(f"{name} must be true or false, not {raw!r}")


LOG_FORMATS = ("text", "json")


def _choice(environ: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices`, the first by default."""
    raw = (environ.get(name) or "").strip().lower()
    if raw == "":
        return choices[0]
    if raw not in choices:
        raise SystemExit(f"{name} must be one of {', '.join(choices)}, not {raw!r}")
    return raw


def kept_secret_key(data_dir: Path) -> str:
    """A key that survives restarts without anyone having to set one: sessions stay valid."""
    path = data_dir / _SECRET_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    draft = data_dir / f".{_SECRET_FILE}.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    try:
        os.link(draft, path)  # appears whole or not at all; never overwrites
    except FileExistsError:  # another process (a worker starting with us) made it first
        return path.read_text().strip()
    finally:
        draft.unlink()
    return key


@dataclass(frozen=True, kw_only=True)
class Settings:
    """What idflow was configured with, typed; each field is the `IDFLOW_` variable of the same
    name (README lists them); the upload limit is Flask's own MAX_CONTENT_LENGTH."""

    data_dir: Path
    database_url: str
    secret_key: str
    base_url: str
    session_ttl_hours: int
    max_attempts: int
    job_workers: int
    job_lease_seconds: float
    queue_url: str
    encryption_keys: str
    retention_days: int
    min_age: int
    behind_https: bool
    proxy_hops: int
    ratelimit_enabled: bool
    ratelimit_storage_uri: str
    ratelimit_api: str
    ratelimit_link_open: str
    ratelimit_flow: str
    ratelimit_upload_session: str
    ratelimit_upload_ip: str
    ratelimit_console_login: str
    console_idle_minutes: int
    shared_dir: str
    webhook_timeout_seconds: float
    webhook_retry_base_seconds: float
    webhook_retry_max_delay_seconds: float
    webhook_retry_window_seconds: float
    webhook_disable_after_seconds: float
    webhook_allow_private: bool
    metrics_token: str
    log_format: str
    storage_url: str
    s3_endpoint_url: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """The fields from their upper-case keys, each checked against its type, so an override
        of the wrong kind fails at start-up rather than deep in a request."""
        types = get_type_hints(cls)
        values: dict[str, Any] = {}
        for field in dataclasses.fields(cls):
            value = config[field.name.upper()]
            wanted = types[field.name]
            if wanted is Path:
                value = Path(value)
            elif wanted is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            elif (wanted is int and isinstance(value, bool)) or not isinstance(value, wanted):
                raise SystemExit(f"{field.name.upper()} must be {wanted.__name__}, not {value!r}")
            values[field.name] = value
        return cls(**values)


def install(app: Flask) -> Settings:
    """Freeze the app's finished config into its `Settings`; Flask's own keys stay in config."""
    frozen = Settings.from_config(app.config)
    app.extensions[_EXTENSION] = frozen
    return frozen


def settings(app: Flask | None = None) -> Settings:
    """The settings of `app`, or of the app handling this request or command."""
    found: Settings = (app or current_app).extensions[_EXTENSION]
    return found


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Flask config keys from the environment; explicit test config is applied on top."""
    env = os.environ if environ is None else environ
    data_dir = Path(env.get("IDFLOW_DATA_DIR") or "instance").resolve()
    return {
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": env.get("IDFLOW_DATABASE_URL") or "",
        "SECRET_KEY": env.get("IDFLOW_SECRET_KEY") or "",
        "BASE_URL": (env.get("IDFLOW_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        "SESSION_TTL_HOURS": _int(env, "IDFLOW_SESSION_TTL_HOURS", 48),
        "MAX_ATTEMPTS": _int(env, "IDFLOW_MAX_ATTEMPTS", 10),
        "JOB_WORKERS": _int(env, "IDFLOW_JOB_WORKERS", 2),
        "JOB_LEASE_SECONDS": _int(env, "IDFLOW_JOB_LEASE_SECONDS", 30),
        "QUEUE_URL": env.get("IDFLOW_QUEUE_URL") or "",
        "MAX_CONTENT_LENGTH": _int(env, "IDFLOW_MAX_UPLOAD_MB", 15) * 1024 * 1024,
        "ENCRYPTION_KEYS": env.get("IDFLOW_ENCRYPTION_KEYS") or "",
        "RETENTION_DAYS": _int(env, "IDFLOW_RETENTION_DAYS", 30),
        "MIN_AGE": _int(env, "IDFLOW_MIN_AGE", 18),
        "BEHIND_HTTPS": _flag(env, "IDFLOW_BEHIND_HTTPS", False),
        "PROXY_HOPS": _int(env, "IDFLOW_PROXY_HOPS", 0),
        "RATELIMIT_ENABLED": _flag(env, "IDFLOW_RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": env.get("IDFLOW_RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_API": env.get("IDFLOW_RATELIMIT_API") or "100 per second",
        "RATELIMIT_LINK_OPEN": env.get("IDFLOW_RATELIMIT_LINK_OPEN") or "30 per minute",
        "RATELIMIT_FLOW": env.get("IDFLOW_RATELIMIT_FLOW") or "300 per minute",
        "RATELIMIT_UPLOAD_SESSION": env.get("IDFLOW_RATELIMIT_UPLOAD_SESSION") or "30 per hour",
        "RATELIMIT_UPLOAD_IP": env.get("IDFLOW_RATELIMIT_UPLOAD_IP") or "200 per hour",
        "RATELIMIT_CONSOLE_LOGIN": env.get("IDFLOW_RATELIMIT_CONSOLE_LOGIN")
        or "5 per minute; 30 per hour",
        "CONSOLE_IDLE_MINUTES": _int(env, "IDFLOW_CONSOLE_IDLE_MINUTES", 30),
        "SHARED_DIR": env.get("IDFLOW_SHARED_DIR") or "",
        "WEBHOOK_TIMEOUT_SECONDS": _int(env, "IDFLOW_WEBHOOK_TIMEOUT_SECONDS", 10),
        "WEBHOOK_RETRY_BASE_SECONDS": _int(env, "IDFLOW_WEBHOOK_RETRY_BASE_SECONDS", 60),
        "WEBHOOK_RETRY_MAX_DELAY_SECONDS": _int(
            env, "IDFLOW_WEBHOOK_RETRY_MAX_DELAY_SECONDS", 21600
        ),
        "WEBHOOK_RETRY_WINDOW_SECONDS": _int(env, "IDFLOW_WEBHOOK_RETRY_WINDOW_SECONDS", 259200),
        "WEBHOOK_DISABLE_AFTER_SECONDS": _int(env, "IDFLOW_WEBHOOK_DISABLE_AFTER_SECONDS", 259200),
        "WEBHOOK_ALLOW_PRIVATE": _flag(env, "IDFLOW_WEBHOOK_ALLOW_PRIVATE", False),
        "METRICS_TOKEN": env.get("IDFLOW_METRICS_TOKEN") or "",
        "LOG_FORMAT": _choice(env, "IDFLOW_LOG_FORMAT", LOG_FORMATS),
        "STORAGE_URL": env.get("IDFLOW_STORAGE_URL") or "",
        "S3_ENDPOINT_URL": env.get("IDFLOW_S3_ENDPOINT_URL") or "",
    }


def private_folder(folder: Path) -> None:
    """Make `folder` (and missing parents) and close it to other users: it holds the database,
    the images and the keys. One made by an older version (0755) is closed too."""
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_mode & 0o077:
        folder.chmod(0o700)


def finish(config: dict[str, Any]) -> None:
    """Fill the defaults that depend on the data dir, once overrides are known."""
    data_dir = Path(config["DATA_DIR"])
    private_folder(data_dir)
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = f"sqlite:///{data_dir / 'idflow.sqlite3'}"
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = kept_secret_key(data_dir)
    if not config["STORAGE_URL"]:
        config["STORAGE_URL"] = (data_dir / "files").as_uri()
