"""CoKnow web application: create_app wires config, extensions and blueprints."""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask, has_request_context, request
from flask_login import current_user

from community.config import PROJECT_ROOT, ConfigError, load_config, pool_options
from community import concurrency, security
from community.extensions import babel, csrf, db, login_manager, migrate, socketio
from community.limits import limiter
from community.realtime import SOCKETIO_PATH, CommunityFlask

__all__ = ["ConfigError", "create_app"]


def _select_locale() -> str | None:
    from flask import current_app

    if not has_request_context():  # CLI and background work use the default locale
        return None
    supported = current_app.config["COKNOW_LOCALES"]
    asked = request.args.get("lang")
    if asked in supported:
        return asked
    if current_user.is_authenticated and current_user.locale in supported:
        return current_user.locale
    chosen = request.cookies.get("coknow_lang")  # the page shell's switcher (community.main.views)
    if chosen in supported:
        return chosen
    return request.accept_languages.best_match(supported)


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app; config overrides the environment (tests pass their own)."""
    app = CommunityFlask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(PROJECT_ROOT / "instance"),
    )
    instance_dir = (config or {}).get("COKNOW_INSTANCE_DIR")
    app.config.update(load_config(instance_dir=instance_dir))
    if config:
        app.config.update(config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **pool_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config["COKNOW_CONCURRENCY"]),
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
    }

    import community.models  # noqa: F401  (every table on the metadata before migrations look)
    from community.viewhelpers import RowIdConverter

    app.url_map.converters["int"] = RowIdConverter  # before any route is added

    db.init_app(app)
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    csrf.init_app(app)
    limiter.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    socketio.init_app(
        app,
        message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"],
        async_mode=concurrency.async_mode(),  # "gevent" in the production worker, else threads
        path=SOCKETIO_PATH,
        # Only pages of this site (and the configured origins) may open a socket as the visitor.
        cors_allowed_origins=("*" if app.config["COKNOW_ALLOWED_ORIGINS"] == "*"
                              else security.origin_check(app.config["COKNOW_ALLOWED_ORIGINS"])),
    )
    security.install(app)  # after Socket.IO, so its responses get the headers too
    concurrency.install_native_runner()
    concurrency.take_turns(app)

    with app.app_context():
        from community.database import configure_engine

        configure_engine(db.engine, green=concurrency.green())

    from community import errors, icons, jobs, markup, navigation, pagecache, rendered
    from community.api import create_api
    from community.cli import register_cli

    jobs.init_app(app)
    errors.register(app)
    navigation.register(app)
    icons.register(app)
    markup.register(app)
    rendered.register(app)
    pagecache.init_app(app)
    register_cli(app)
    _register_blueprints(app)
    api = create_api(app)
    from community.notifications.events import register as register_live

    register_live(socketio)
    _wire_bot(app, api)
    return app


def _register_blueprints(app: Flask) -> None:
    from community.auth import bp as auth_bp
    from community.beta import bp as beta_bp
    from community.customers import bp as customers_bp, people_bp
    from community.forum import bp as forum_bp
    from community.ideas import bp as ideas_bp
    from community.insights import bp as insights_bp
    from community.integrations import bp as integrations_bp
    from community.kb import bp as kb_bp
    from community.main import bp as main_bp
    from community.notifications import bp as notifications_bp

    for bp in (main_bp, auth_bp, notifications_bp, ideas_bp, beta_bp, forum_bp, kb_bp, customers_bp, people_bp,
               insights_bp, integrations_bp):
        app.register_blueprint(bp)


def _wire_bot(app: Flask, api: Any) -> None:
    """The composition root's one reach upward: the bot's pages, API, Socket.IO namespaces and the
    receivers it connects to community hooks. No other community module imports bot (import-linter)."""
    from bot import bp as chat_bp
    from bot import beta, bugs, capture, capture_views, promotion
    from bot import idea_requests
    from bot.api import blp as chat_blp
    from bot.gaps_api import blp as gaps_blp
    from bot.console import bp as support_bp
    from bot.console_events import register as register_console
    from bot.events import register as register_chat
    from bot.knowledge import warm_up
    from bot.scoring import settings_from_config
    from community.api import register_api_blueprint
    from community.hooks import server_starting

    settings_from_config(app.config)  # COKNOW_BOT_* checked at start-up, like every other setting
    for bp in (chat_bp, support_bp, capture_views.bp):
        app.register_blueprint(bp)
    register_api_blueprint(api, chat_blp)
    register_api_blueprint(api, gaps_blp)
    # init_app builds a new Socket.IO server each time, so namespaces attach per app.
    register_chat(socketio)
    register_console(socketio)
    idea_requests.register()  # chat feature requests count as demand on ideas
    promotion.register()  # articles published close gaps; "Ask the community" starts from a bot reply
    capture.register_hooks()  # a "no" under a help article is a knowledge gap
    bugs.register_report_offer(beta.report_offer)  # a tester's bug report in chat: "Report this for build N"
    server_starting.connect(warm_up)  # a server's first question does not wait for the index and the model
