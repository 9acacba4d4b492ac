"""Running the web server: one process (`isafbot run`), or several sharing the port
(`isafbot run --workers N`: forked from a parent that loaded the NLU model, bot/forking.py, or
with ISAFBOT_PRELOAD=no behind uvicorn's supervisor, each building its app with `create_app`),
and which process may lead (ISAFBOT_LEADER). What runs inside a process is bot.server's `Runtime`.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from starlette.applications import Starlette

from bot.bootstrap import App
from bot.server import build_runtime, build_web_app
from bot.settings import Settings, SettingsError
from common.leader import Leadership

log = logging.getLogger(__name__)


def serve(app: App, *, host: str, port: int, workers: int = 4) -> None:
    """Run one process until SIGTERM/SIGINT (uvicorn handles the signals and the graceful
    shutdown). `workers`: updates handled concurrently in this process."""
    import uvicorn

    runtime = build_runtime(app, workers=workers, elect=_leader_mode(app) == "elect",
                            migrate=True)
    if _leader_mode(app) == "no":
        runtime.leadership = _NeverLead(app.db)
    web = build_web_app(runtime)
    uvicorn.Server(uvicorn.Config(web, host=host, port=port,
                                  **_uvicorn_options(app.settings))).run()


def _uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Shared by one process and several: our logging (bot.logs), graceful shutdown, and the
    trusted proxy."""
    return {"access_log": False, "log_config": None, "timeout_graceful_shutdown": 20,
            "lifespan": "on", "ws": "none",  # Rasa pins an old websockets; nothing needs it
            **proxy_options(settings)}


def proxy_options(settings: Settings) -> dict[str, Any]:
    """The client's address (X-Forwarded-For) and scheme (X-Forwarded-Proto: the dashboard's
    Secure cookies and HSTS) are taken from these headers only when the connection comes from
    ISAFBOT_FORWARDED_ALLOW_IPS."""
    return {"proxy_headers": True,
            "forwarded_allow_ips": settings.env.get("ISAFBOT_FORWARDED_ALLOW_IPS", "127.0.0.1")}


def serve_processes(settings: Settings, *, processes: int, handlers: int) -> None:
    """`isafbot run --workers N`: N server processes sharing the port, forked after the model
    is loaded (bot/forking.py restarts a worker that dies), or with ISAFBOT_PRELOAD=no spawned
    by uvicorn's supervisor. Each builds its app with `create_app`; they elect the leader.
    The schema is migrated here once, before they start; if the database is down, each
    worker migrates when it answers (under the migrations' advisory lock)."""
    import uvicorn

    from bot.db import Database
    from common.db.session import database_unavailable

    if settings.env.get("TELEGRAM_BOT_TOKEN") and not settings.env.get("TELEGRAM_WEBHOOK_URL"):
        raise SettingsError("several workers need Telegram's webhook (TELEGRAM_WEBHOOK_URL): "
                            "only one process at a time may poll Telegram for updates")
    database = Database.from_settings(settings)
    try:
        database.migrate()
    except Exception as error:
        if not database_unavailable(error):
            raise
        log.warning("the database is unavailable (%s): the workers start anyway and migrate "
                    "when it answers", type(error).__name__)
    finally:
        database.dispose()
    os.environ["ISAFBOT_HANDLERS"] = str(handlers)
    os.environ.setdefault("ISAFBOT_LEADER", "elect")
    if settings.env.get("ISAFBOT_PRELOAD", "yes").lower() not in ("no", "0", "false"):
        from bot.forking import serve_forked

        serve_forked(settings, processes, _forked_worker)  # the model loaded once, shared
        return
    uvicorn.run("bot.serving:create_app", factory=True, workers=processes,
                host=settings.http_host, port=settings.http_port, **_uvicorn_options(settings))


def _forked_worker(sock: Any, nlu: Any) -> None:
    """One worker forked by bot.forking: its app (with the parent's NLU), served on the
    parent's socket until SIGTERM."""
    import uvicorn

    web = create_app(nlu=nlu)
    uvicorn.Server(uvicorn.Config(web, **_uvicorn_options(Settings.from_env()))).run(
        sockets=[sock])


def create_app(nlu: Any = None) -> Starlette:
    """The app factory each worker process calls (`bot.serving:create_app`, factory=True, or
    a forked worker with the parent's `nlu`): settings from the environment, the app
    bootstrapped in this process."""
    from bot.bootstrap import bootstrap
    from bot.logs import configure_logging

    settings = Settings.from_env()
    configure_logging(settings)
    app = bootstrap(settings, migrate=False, nlu=nlu)
    runtime = build_runtime(app, workers=int(settings.env.get("ISAFBOT_HANDLERS", "4")),
                            elect=_leader_mode(app) == "elect", migrate=True)
    if _leader_mode(app) == "no":
        runtime.leadership = _NeverLead(app.db)
    runtime.on_stopped.append(app.close)
    return build_web_app(runtime)


def _leader_mode(app: App) -> str:
    from common.leader import MODES

    mode = app.settings.env.get("ISAFBOT_LEADER", "yes").lower()
    if mode not in MODES:
        raise SettingsError(f"ISAFBOT_LEADER={mode!r} must be one of {', '.join(MODES)}")
    return mode


class _NeverLead(Leadership):
    """ISAFBOT_LEADER=no: a web and inbox worker only."""

    def try_acquire(self) -> bool:
        return False
