"""Customer Care Registry: the handoff service."""
from __future__ import annotations

import logging
import os

from flask import Flask, abort
from flask_wtf.csrf import CSRFProtect

from handoff.config import PROJECT_ROOT, Config

csrf = CSRFProtect()
# Largest Socket.IO packet: far above a 4,000-character message, far below a memory problem.
SOCKET_BODY_LIMIT = 64 * 1024


def configure_logging() -> None:
    """key=value lines, so logs can be grepped by field."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # APScheduler logs every run of every job at INFO: two lines every 10 s from an idle outbox.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    if logging.getLogger().handlers:
        return
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="ts=%(asctime)s level=%(levelname)s logger=%(name)s msg=%(message)s")


def create_app(test_config: dict | None = None) -> Flask:
    from flask_socketio import SocketIO

    from handoff import db, realtime
    from handoff.chat.bot_relay import BotRelay
    from handoff.chat.rates import Rates
    from handoff.chat.sockets import bare_events, cors_allowed
    from handoff.chat.sockets.agent import AgentNamespace
    from handoff.chat.sockets.body_limit import SocketBodyLimit
    from handoff.chat.sockets import rooms
    from handoff.chat.sockets.customer import ChatNamespace
    from handoff.errors import register_error_handlers
    from handoff.knowledge.index import KnowledgeIndex
    from handoff.ops import health
    from handoff.people.auth import login_manager
    from handoff.views import admin, api, console, headers, kb_admin, pages, portal, widget_files

    configure_logging()
    app = Flask(__name__, template_folder=str(PROJECT_ROOT / "web" / "templates"),
                static_folder=str(PROJECT_ROOT / "web" / "static"))
    app.config.from_mapping(Config().as_flask())
    if test_config:
        app.config.from_mapping(test_config)

    from handoff.chat import customer_presence
    from handoff.routing import policy, triage_model

    policy.configure(app.config)
    triage_model.configure(app.config)
    customer_presence.configure(app.config)
    db.init_engine(app.config["DATABASE_URL"])
    if app.config.get("AUTO_MIGRATE"):
        from handoff.ops.migrate import upgrade

        upgrade(app.config["DATABASE_URL"])
    csrf.init_app(app)
    login_manager.init_app(app)
    register_error_handlers(app)
    headers.init_app(app)
    app.extensions["rates"] = Rates(app.config["REDIS_URL"], app.config["RATES"])
    for blueprint in (pages.bp, portal.bp, console.bp, admin.bp, kb_admin.bp, health.bp, api.bp, widget_files.bp):
        app.register_blueprint(blueprint)
    csrf.exempt(api.bp)
    csrf.exempt(widget_files.bp)  # no cookie-borne identity without our own Origin: see widget_files

    app.extensions["knowledge"] = KnowledgeIndex(app.config["FAQ_ANSWER_THRESHOLD"],
                                                 app.config["FAQ_CHOOSE_THRESHOLD"],
                                                 calibrate=app.config.get("FAQ_CALIBRATE", True),
                                                 wait=app.config.get("FAQ_REFIT_WAIT", 5.0))
    relay = BotRelay(app.config["RASA_URL"], app.config["RASA_TIMEOUT"], app.config["RASA_TOKEN"])
    app.extensions["relay"] = relay
    socketio = SocketIO(
        app,
        async_mode=app.config.get("SOCKETIO_ASYNC_MODE") or realtime.async_mode(),
        message_queue=app.config["REDIS_URL"],
        client_manager=rooms.manager_for(app.config["REDIS_URL"]),
        cors_allowed_origins=cors_allowed(app.config["ALLOWED_ORIGINS"]),
        cors_credentials=False,  # other sites' pages get anonymous CORS only, never the customer's cookie
        max_http_buffer_size=SOCKET_BODY_LIMIT,
        ping_interval=20,
        logger=False,
        engineio_logger=False,
    )
    # Flask-SocketIO runs every socket event inside a request context built from the connection's
    # environ, whose path is /socket.io/. With no route there, Flask's URL matching raised NotFound for
    # every event and kept it (traceback, frames, the context) in a reference cycle: ~65 objects of
    # cyclic garbage per chat message, which made full garbage collections of 20-40 ms, with every
    # thread stopped, come every 10-40 s at 200 live chats. HTTP never reaches this rule (Engine.IO
    # answers /socket.io/ before Flask); it only lets the match succeed, for long-polling and WebSocket
    # connections alike (werkzeug matches a WebSocket's environ only against websocket rules).
    app.add_url_rule("/socket.io/", "socketio_path", _socketio_path, methods=["GET", "POST"])
    app.add_url_rule("/socket.io/", "socketio_websocket", _socketio_path, websocket=True)
    realtime.bind(socketio)
    app.extensions["chat"] = ChatNamespace("/chat", relay)
    for namespace in (app.extensions["chat"], AgentNamespace("/agent")):
        socketio.on_namespace(namespace)
        bare_events(socketio, app, namespace, namespace.bare_handlers)
    app.wsgi_app = SocketBodyLimit(app.wsgi_app, SOCKET_BODY_LIMIT)
    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Outermost, so Socket.IO's requests see the client's address and scheme too.
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    return app


def _socketio_path():
    abort(404)
