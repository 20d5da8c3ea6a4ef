"""schemathesis, in process, against /api/v1/openapi.json: no 5xx and no answer that breaks the document.

At least 100 generated requests per operation on PostgreSQL, the production database and the stricter one
(integer ranges, time zones, NUL characters), as an anonymous visitor and as a signed-in customer (issue 18's
bar); 25 on the SQLite run, which checks the same document against the embedded default
(COKNOW_SCHEMATHESIS_EXAMPLES changes both). Every failure is collected with its operation.
"""
from __future__ import annotations

import functools
import os

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings

from tests.conftest import Auth

# The walk is the suite's longest test, and its cost is per generated request, alike on both databases:
# about 17 ms each (~70 operations take generated input), some 60 % of it schemathesis and Hypothesis
# making and checking the case, the rest the app answering (nothing is reset per case; the chat engine's
# answers are the costliest operation). About 2 minutes per role on PostgreSQL.
EXAMPLES = int(os.environ.get("COKNOW_SCHEMATHESIS_EXAMPLES", "100"))
# The SQLite run repeats what PostgreSQL checks with a quarter of it.
SQLITE_SHARE = 4


class _CurrentApp:
    """The WSGI application the loaded document's requests go to: the app of the walk that is running."""

    app: Flask | None = None

    def __call__(self, environ, start_response):
        assert self.app is not None
        return self.app(environ, start_response)


_TARGET = _CurrentApp()


@functools.cache
def _operations() -> list:
    """The document's operations, loaded once per process (every app serves the same document).

    schemathesis builds each operation's strategies on first use and keeps them on the operation: loaded
    once, the walks in a process share them. Drawing from them is as before (as_strategy draws from the
    document alone, with no feedback from earlier responses), and each walk's requests go to its own app.
    """
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _TARGET)
    # PostgreSQL cannot store a NUL character in text (and nobody types one): the API refuses it with a 422
    # naming the field. The document cannot say "no NUL" for every string, so generated text leaves it out.
    schema.config.generation.update(allow_x00=False)
    return list(schema.get_all_operations())


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 2 minutes per role and database on a 2-core machine, more when loaded
@pytest.mark.parametrize("who", ["anonymous", "customer"])
@pytest.mark.app_config(RATELIMIT_ENABLED=False, COKNOW_CHAT_RATE_PER_MINUTE=10**6, COKNOW_CHAT_RATE_PER_ADDRESS=10**6,
                        FORUM_NEW_POSTS_PER_HOUR=10**6, FORUM_POSTS_PER_HOUR=10**6, FORUM_NEW_ACCOUNT_POSTS=0,
                        FORUM_NEW_ACCOUNT_HOURS=0, IDEAS_NEW_PER_HOUR=10**6, IDEA_COMMENTS_NEW_PER_HOUR=10**6,
                        FORUM_NEW_MAX_LINKS=10**6, FORUM_NEW_MAX_MENTIONS=10**6)
def test_the_api_keeps_to_its_openapi_document(app, client, create_user, create_idea, make_thread, help_center, who):
    examples = EXAMPLES if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql") else EXAMPLES // SQLITE_SHARE
    customer = create_user(email="customer@example.com")
    idea = create_idea("Export reports to CSV", author=customer)
    make_thread(customer)
    assert idea.id == 1
    if who == "customer":
        Auth(client).login(customer.email)
    token = client.csrf_header_token()  # also gives an anonymous visitor a session, as the site's pages do
    headers = {"X-CSRFToken": token}
    cookies = {"session": client.get_cookie("session").value}
    _TARGET.app = app

    failures: list[str] = []
    operations = 0
    for result in _operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            response = case.call(headers=headers, cookies=cookies)
            case.validate_response(response, headers=headers)

        try:
            run()
        except (Exception, BaseExceptionGroup) as failure:  # every operation runs; all failures are reported together
            failures.append(f"{operation.label}: {str(failure)[:1500]}")
    assert operations >= 25
    assert failures == [], "\n\n".join(failures)
