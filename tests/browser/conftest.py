"""A live server in a thread and Debian's chromium driven by Playwright."""
from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

# Debian's chromium, found on PATH (make system-deps installs it); None when it is not installed.
CHROMIUM = shutil.which("chromium")
# A first answer loads the model and builds the test's index; on 2 shared cores that can pass 5 s.
EXPECT_TIMEOUT_MS = 15_000
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--disable-gpu", "--no-first-run", "--disable-sync"]


def _closing(app):
    """The app with each response read whole and its iterable closed before werkzeug writes it. Werkzeug's
    development handler skips close() when the browser resets a connection mid-response (its cleanup reads the
    reset socket first), so a static file stays open until garbage collection, and the ResourceWarning fails
    whichever test is running then."""

    def wsgi(environ, start_response):
        app_iter = app(environ, start_response)
        try:
            return [b"".join(app_iter)]
        finally:
            close = getattr(app_iter, "close", None)
            if close is not None:
                close()

    return wsgi


@pytest.fixture
def live_server(app):
    """Serve app on a free loopback port for the length of one test."""
    app.config["WTF_CSRF_SSL_STRICT"] = False
    server = make_server("127.0.0.1", 0, _closing(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    """Chromium for one test module. Not for the session: while Playwright's sync API is open, its event loop
    counts as running in this thread, so any later test calling asyncio (or opening Playwright) would fail."""
    import os

    if CHROMIUM is None:
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail("chromium is required for browser tests (apt-get install chromium)")
        pytest.skip("chromium is not installed")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Factory of pages, each in its own browser context (its own cookies)."""
    contexts = []

    def make():
        context = browser.new_context()
        context.set_default_timeout(EXPECT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()
