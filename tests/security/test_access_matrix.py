"""Who may reach what: every route of the URL map, and every Socket.IO event, for four roles.

Each route has an access rule in ROUTES, one table per blueprint; a route without an entry fails the
test, so a new route joins by adding one line to its blueprint's table:

    P  public: every role gets through (any answer below 500 other than a login redirect, 401 or 403)
    S  signed in: anonymous visitors go to the login page (HTML) or get 401 (API); everyone else gets through
    T  staff: anonymous as for S; customers get 403 (or 404); staff get through
    O  the object's owner or staff: the world's objects (id 1) belong to "customer"; "other" gets 403/404
    M  the owner only (a notification): anonymous to login, everyone but "customer" gets 403/404
    N  anyone signed in but the owner (liking your own reply is refused)
    P0, S0, T0  as P, S and T, for objects the world does not make (an article, a gap, a job): 404 counts
    -  tested elsewhere (logout ends the session the rest of the walk needs)

Two things the walk cannot tell by status alone, so it checks them another way:
- API writes validate their JSON before the view checks who is asking: an empty body gets 422 whoever
  sends it. A 422 there counts as refused (nothing is written; the state check below proves it).
- Some form posts refuse with a flash message and a redirect (the house-in-order work turns these into
  4xx). After the walk as "other", the world's objects must be exactly as they were.

Outcomes are checked per role on a fresh world with the CSRF token sent, so refusals are about access,
not about the token; state-changing routes that destroy the world's objects run last.
"""
from __future__ import annotations

import pytest

from community.extensions import db, socketio
from community.forum import services as forum
from community.ideas import services as ideas
from community.models import Idea, IdeaComment, PostKind, Reply, Thread
from community.notifications.services import notify
from tests.conftest import Auth

ROLES = ["anonymous", "customer", "other", "staff"]

ROUTES: dict[str, dict[str, str]] = {
    "api-docs": {"GET /api/v1/openapi.json": "P"},
    # No job exists in the world: "its creator or staff" shows as 404 for everyone signed in.
    "api_system": {"GET /api/v1/health": "P", "GET /api/v1/me": "S", "GET /api/v1/jobs/<int:job_id>": "S0"},
    "api_chat": {
        "GET /api/v1/chat/messages": "P", "POST /api/v1/chat/messages": "P", "POST /api/v1/chat/choices": "P",
        "POST /api/v1/chat/feedback": "P", "POST /api/v1/chat/handoff": "P", "GET /api/v1/chat/suggestions": "P",
        "POST /api/v1/chat/ideas/vote": "S", "POST /api/v1/chat/ideas/follow": "S",
    },
    "api_ideas": {
        "GET /api/v1/ideas": "P", "POST /api/v1/ideas": "S", "GET /api/v1/ideas/<int:idea_id>": "P",
        "GET /api/v1/ideas/<int:idea_id>/comments": "P", "POST /api/v1/ideas/<int:idea_id>/comments": "S",
        "POST /api/v1/ideas/<int:idea_id>/follow": "S", "DELETE /api/v1/ideas/<int:idea_id>/follow": "S",
        "POST /api/v1/ideas/<int:idea_id>/vote": "S", "DELETE /api/v1/ideas/<int:idea_id>/vote": "S",
        "POST /api/v1/ideas/<int:idea_id>/status": "T",
    },
    "api_forum": {
        "GET /api/v1/forum/categories": "P", "GET /api/v1/forum/threads": "P", "POST /api/v1/forum/threads": "S",
        "GET /api/v1/forum/threads/<int:thread_id>": "P", "GET /api/v1/forum/threads/<int:thread_id>/replies": "P",
        "POST /api/v1/forum/threads/<int:thread_id>/replies": "S",
        "POST /api/v1/forum/threads/<int:thread_id>/accept": "O",
    },
    "auth": {
        "GET /login": "P", "POST /login": "P", "GET /register": "P", "POST /register": "P", "POST /logout": "-",
        "GET /profile": "S", "POST /profile": "S", "GET /password": "S", "POST /password": "S",
    },
    "main": {"GET /": "P", "GET /language/<code>": "P0"},  # only en and zh exist: /language/1 is 404
    "static": {"GET /static/<path:filename>": "P"},
    "beta": {"GET /beta/": "P"},
    "chat": {
        "GET /chat/": "P", "POST /chat/": "P", "POST /chat/choose": "P", "POST /chat/feedback": "P",
        # The no-script chat answers a visitor's vote with "sign in to vote" on the chat page (the service refuses).
        "POST /chat/handoff": "P", "POST /chat/ideas/vote": "P", "POST /chat/ideas/follow": "P",
    },
    "customers": {"GET /customers/": "T"},
    "insights": {"GET /insights/": "T"},
    "capture": {
        "GET /insights/gaps": "T", "POST /insights/gaps/<int:gap_id>/dismiss": "T0", "POST /insights/gaps/dismiss": "T",
        "POST /insights/gaps/<int:gap_id>/link": "T0", "GET /insights/gaps/<int:gap_id>/write": "T0",
        "POST /insights/gaps/<int:gap_id>/write": "T0", "POST /forum/t/<int:thread_id>/propose": "O",
    },
    "kb": {
        "GET /help/": "P", "GET /help/articles/<slug>": "P0", "GET /help/categories/<slug>": "P0",
        "GET /help/search": "P", "POST /help/articles/<slug>/feedback": "P0",
        "GET /help/manage": "T", "GET /help/manage/new": "T", "POST /help/manage/new": "T",
        "GET /help/manage/<int:article_id>/edit": "T", "POST /help/manage/<int:article_id>/edit": "T",
    },
    "support": {"GET /support/console": "T"},
    "notifications": {
        "GET /notifications/": "S", "POST /notifications/read": "S", "POST /notifications/<int:notification_id>/open": "M",
        "GET /notifications/settings": "S", "POST /notifications/settings": "S", "GET /notifications/outbox": "T",
        "GET /notifications/unsubscribe/<token>": "P", "POST /notifications/unsubscribe/<token>": "P",
    },
    "ideas": {
        "GET /ideas/": "P", "GET /ideas/<int:idea_id>": "P", "GET /ideas/roadmap": "P", "GET /ideas/changelog": "P",
        "GET /ideas/similar": "P", "GET /ideas/new": "S", "POST /ideas/new": "S",
        "POST /ideas/<int:idea_id>/comments": "S", "POST /ideas/<int:idea_id>/vote": "S",
        "POST /ideas/<int:idea_id>/unvote": "S", "POST /ideas/<int:idea_id>/follow": "S",
        "POST /ideas/<int:idea_id>/unfollow": "S", "GET /ideas/<int:idea_id>/edit": "O",
        "POST /ideas/<int:idea_id>/edit": "O", "GET /ideas/comments/<int:comment_id>/edit": "O",
        "POST /ideas/comments/<int:comment_id>/edit": "O", "POST /ideas/comments/<int:comment_id>/delete": "O",
        "GET /ideas/comments/<int:comment_id>/history": "P",
        "POST /ideas/<int:idea_id>/status": "T", "POST /ideas/<int:idea_id>/merge": "T",
        "POST /ideas/<int:idea_id>/vote-for": "T", "GET /ideas/changelog/new": "T", "POST /ideas/changelog/new": "T",
        "GET /ideas/<int:idea_id>/merge": "T", "GET /ideas/changelog/<int:entry_id>/edit": "T0",
        "POST /ideas/changelog/<int:entry_id>/edit": "T0",
        "GET /ideas/duplicates": "T", "GET /ideas/priorities": "T", "GET /ideas/reviews": "T",
        "POST /ideas/reviews/<int:review_id>/resolve": "T0",
    },
    "forum": {
        "GET /forum/": "P", "GET /forum/c/<slug>": "P", "GET /forum/t/<int:thread_id>": "P", "GET /forum/search": "P",
        "GET /forum/similar": "P", "GET /forum/new": "S", "POST /forum/new": "S", "POST /forum/preview": "S",
        "POST /forum/t/<int:thread_id>/reply": "S", "POST /forum/r/<int:reply_id>/like": "N",
        "GET /forum/flag/<kind>/<int:post_id>": "S", "POST /forum/flag/<kind>/<int:post_id>": "S",
        "GET /forum/t/<int:thread_id>/edit": "O", "POST /forum/t/<int:thread_id>/edit": "O",
        "GET /forum/r/<int:reply_id>/edit": "O", "POST /forum/r/<int:reply_id>/edit": "O",
        "GET /forum/t/<int:thread_id>/history": "P", "GET /forum/r/<int:reply_id>/history": "P",
        "POST /forum/t/<int:thread_id>/accept/<int:reply_id>": "O", "POST /forum/t/<int:thread_id>/unaccept": "O",
        "POST /forum/t/<int:thread_id>/seen": "P", "POST /forum/t/<int:thread_id>/delete": "O",
        "POST /forum/r/<int:reply_id>/delete": "O",
        "GET /forum/categories": "T", "POST /forum/categories": "T", "GET /forum/categories/<slug>": "T",
        "POST /forum/categories/<slug>": "T", "GET /forum/flags": "T", "POST /forum/flags/<int:flag_id>": "T0",
        "POST /forum/t/<int:thread_id>/moderate": "T", "POST /forum/r/<int:reply_id>/hide": "T",
    },
}


# Routes that arrived with this session's features (beta, customers, insights, integrations, API coverage).
# Each feature's own tests walk them role by role (the file named), so the walk here skips them ("-");
# a new route still fails test_every_route_has_an_access_rule until it is listed.
TESTED_WITH_THEIR_FEATURE: dict[str, dict[str, str]] = {
    # tests/customers/test_views.py
    "people": {
        "GET /account/export": "-",
        "GET /people/<int:user_id>": "-",
        "GET /people/top": "-",
        "GET /account/delete": "-",
        "POST /account/delete": "-",
    },
    # tests/community/test_api_tokens.py and test_webhooks.py
    "integrations": {
        "GET /account/tokens": "-",
        "POST /account/tokens": "-",
        "POST /account/tokens/<int:token_id>/revoke": "-",
        "GET /developers/api": "-",
        "GET /developers/webhooks": "-",
        "GET /integrations": "-",
        "GET /integrations/tokens": "-",
        "POST /integrations/tokens": "-",
        "POST /integrations/tokens/<int:token_id>/revoke": "-",
        "POST /integrations/webhooks": "-",
        "GET /integrations/webhooks/<int:endpoint_id>": "-",
        "POST /integrations/webhooks/<int:endpoint_id>": "-",
        "POST /integrations/webhooks/<int:endpoint_id>/<any(ping, enable, pause, rotate, delete):what>": "-",
        "POST /integrations/webhooks/<int:endpoint_id>/deliveries/<int:delivery_id>/resend": "-",
    },
    # tests/beta/test_api.py
    "api_beta": {
        "POST /api/v1/beta/builds/<int:build_id>/reports": "-",
        "GET /api/v1/beta/builds/<int:build_id>/surveys": "-",
        "POST /api/v1/beta/builds/<int:build_id>/surveys": "-",
        "POST /api/v1/beta/memberships/<int:membership_id>/decision": "-",
        "GET /api/v1/beta/programs": "-",
        "POST /api/v1/beta/programs": "-",
        "GET /api/v1/beta/programs/<slug>": "-",
        "GET /api/v1/beta/programs/<slug>/builds": "-",
        "POST /api/v1/beta/programs/<slug>/builds": "-",
        "DELETE /api/v1/beta/programs/<slug>/membership": "-",
        "POST /api/v1/beta/programs/<slug>/membership": "-",
        "GET /api/v1/beta/reports": "-",
        "GET /api/v1/beta/reports/<int:report_id>": "-",
        "POST /api/v1/beta/reports/<int:report_id>/attachments": "-",
        "POST /api/v1/beta/reports/<int:report_id>/state": "-",
        "POST /api/v1/beta/surveys/<int:survey_id>/responses": "-",
        "GET /api/v1/beta/surveys/<int:survey_id>/results": "-",
    },
    # tests/customers/test_views.py
    "api_customers": {
        "GET /api/v1/customers": "-",
        "GET /api/v1/customers/<int:user_id>": "-",
        "GET /api/v1/customers/<int:user_id>/timeline": "-",
        "POST /api/v1/customers/imports": "-",
        "GET /api/v1/customers/segments": "-",
        "PUT /api/v1/customers/segments": "-",
        "GET /api/v1/me/export": "-",
    },
    # tests/community/test_api_coverage.py
    "api_forum": {
        "PUT /api/v1/forum/replies/<int:reply_id>": "-",
        "POST /api/v1/forum/replies/<int:reply_id>/like": "-",
        "PUT /api/v1/forum/threads/<int:thread_id>": "-",
        "GET /api/v1/forum/threads/changes": "-",
    },
    # tests/community/test_api_coverage.py
    "api_gaps": {
        "GET /api/v1/gaps": "-",
        "GET /api/v1/gaps/<int:gap_id>": "-",
        "POST /api/v1/gaps/<int:gap_id>/link": "-",
        "POST /api/v1/gaps/<int:gap_id>/dismiss": "-",
    },
    # tests/community/test_api_coverage.py
    "api_ideas": {
        "PUT /api/v1/ideas/<int:idea_id>": "-",
        "GET /api/v1/ideas/changes": "-",
        "POST /api/v1/ideas/<int:idea_id>/merge": "-",
    },
    # tests/insights
    "api_insights": {
        "GET /api/v1/insights/ideas/<int:idea_id>/evidence": "-",
        "POST /api/v1/insights/ideas/<int:idea_id>/evidence": "-",
        "POST /api/v1/insights/runs": "-",
        "GET /api/v1/insights/runs/<int:run_id>": "-",
        "GET /api/v1/insights/themes": "-",
        "GET /api/v1/insights/themes/<int:theme_id>": "-",
    },
    # tests/community/test_api_coverage.py
    "api_kb": {
        "GET /api/v1/kb/articles": "-",
        "POST /api/v1/kb/articles": "-",
        "GET /api/v1/kb/articles/<int:article_id>": "-",
        "PATCH /api/v1/kb/articles/<int:article_id>": "-",
        "GET /api/v1/kb/categories": "-",
        "POST /api/v1/kb/categories": "-",
        "POST /api/v1/kb/import": "-",
    },
    # tests/community/test_api_coverage.py
    "api_notifications": {
        "GET /api/v1/notifications": "-",
        "POST /api/v1/notifications/read": "-",
    },
    # tests/community/test_api_coverage.py
    "api_users": {
        "GET /api/v1/users": "-",
        "GET /api/v1/users/<int:user_id>": "-",
        "PATCH /api/v1/users/me": "-",
    },
    # tests/beta/test_views.py
    "beta": {
        "GET /beta/<slug>/": "-",
        "POST /beta/<slug>/apply": "-",
        "GET /beta/<slug>/board": "-",
        "GET /beta/<slug>/builds/new": "-",
        "POST /beta/<slug>/builds/new": "-",
        "GET /beta/<slug>/edit": "-",
        "POST /beta/<slug>/edit": "-",
        "GET /beta/<slug>/health": "-",
        "GET /beta/<slug>/join/<token>": "-",
        "POST /beta/<slug>/join/<token>": "-",
        "POST /beta/<slug>/leave": "-",
        "GET /beta/<slug>/testers": "-",
        "POST /beta/<slug>/testers": "-",
        "GET /beta/attachments/<int:attachment_id>": "-",
        "GET /beta/builds/<int:build_id>": "-",
        "GET /beta/builds/<int:build_id>/report": "-",
        "POST /beta/builds/<int:build_id>/report": "-",
        "GET /beta/builds/<int:build_id>/similar": "-",
        "GET /beta/builds/<int:build_id>/surveys/new": "-",
        "POST /beta/builds/<int:build_id>/surveys/new": "-",
        "GET /beta/known-issues/<int:issue_id>": "-",
        "POST /beta/members/<int:membership_id>/<any(accept, decline):decision>": "-",
        "GET /beta/new": "-",
        "POST /beta/new": "-",
        "GET /beta/report-from-chat": "-",
        "GET /beta/reports/<int:report_id>": "-",
        "POST /beta/reports/<int:report_id>/comment": "-",
        "POST /beta/reports/<int:report_id>/idea": "-",
        "POST /beta/reports/<int:report_id>/known-issue": "-",
        "POST /beta/reports/<int:report_id>/me-too": "-",
        "POST /beta/reports/<int:report_id>/state": "-",
        "GET /beta/surveys/<int:survey_id>": "-",
        "POST /beta/surveys/<int:survey_id>": "-",
        "POST /beta/reports/<int:report_id>/merge": "-",
    },
    # tests/customers/test_views.py
    "customers": {
        "GET /customers/<int:user_id>": "-",
        "GET /customers/access-log": "-",
        "GET /customers/import": "-",
        "POST /customers/import": "-",
        "GET /customers/import/<int:job_id>": "-",
        "GET /customers/segments": "-",
        "POST /customers/segments": "-",
        "POST /customers/segments/recompute": "-",
    },
    # tests/insights
    "insights": {
        "GET /insights/duplicates": "-",
        "POST /insights/duplicates/<int:link_id>/<action>": "-",
        "POST /insights/evidence": "-",
        "GET /insights/runs/<int:run_id>/export.<fmt>": "-",
        "GET /insights/scorecard": "-",
        "GET /insights/scorecard/<key>": "-",
        "GET /insights/themes/<int:theme_id>": "-",
        "GET /insights/themes/<int:theme_id>/export.<fmt>": "-",
        "POST /insights/themes/<int:theme_id>/rename": "-",
        "POST /insights/themes/<int:theme_id>/split": "-",
        "POST /insights/themes/run": "-",
        "GET /insights/trends": "-",
        "POST /insights/trends/subscription": "-",
        "POST /insights/evidence/<int:evidence_id>/delete": "-",
        "POST /insights/themes/<int:theme_id>/merge": "-",
    },
}
for _blueprint, _rules in TESTED_WITH_THEIR_FEATURE.items():
    ROUTES.setdefault(_blueprint, {}).update(_rules)

# Per access rule, the outcome each role must get.
EXPECTED = {
    "P": {"anonymous": "through", "customer": "through", "other": "through", "staff": "through"},
    "S": {"anonymous": "login", "customer": "through", "other": "through", "staff": "through"},
    "T": {"anonymous": "login", "customer": "denied", "other": "denied", "staff": "through"},
    "O": {"anonymous": "login", "customer": "through", "other": "denied", "staff": "through"},
    "M": {"anonymous": "login", "customer": "through", "other": "denied", "staff": "denied"},
    "N": {"anonymous": "login", "customer": "denied", "other": "through", "staff": "through"},
    "P0": {"anonymous": "through|denied", "customer": "through|denied", "other": "through|denied",
           "staff": "through|denied"},
    "S0": {"anonymous": "login", "customer": "through|denied", "other": "through|denied", "staff": "through|denied"},
    "T0": {"anonymous": "login", "customer": "denied", "other": "denied", "staff": "through|denied"},
}
DESTRUCTIVE = ("/delete", "/merge", "/moderate", "/hide", "/resolve", "/dismiss")


def _outcome(response) -> str:
    status = response.status_code
    if status >= 500:
        return f"server error {status}"
    if status == 401 or (status in (302, 303) and "/login" in response.headers.get("Location", "")):
        return "login"
    if status in (403, 404):
        return "denied"
    return "through"


@pytest.fixture
def world(app, create_user, category):
    """Users for the four roles and one of each object, owned by "customer" (every id is 1)."""
    customer = create_user(email="customer@example.com", display_name="Cora Customer")
    other = create_user(email="other@example.com", display_name="Otto Other")
    staff = create_user(email="staff@example.com", display_name="Sam Staff", role="staff")
    idea = ideas.submit_idea(customer, "Export reports to CSV", "Monthly numbers for finance.")
    ideas.add_comment(idea, customer, "And to Excel, please.")
    thread = forum.create_thread(customer, category, "How do I pair the sensor?", "It blinks red.", [])
    forum.post_reply(customer, thread, "Found it: hold the button for five seconds.")
    forum.flag_post(other, PostKind.reply, 1, "Looks like spam")
    notify([customer], "idea.comment", "Someone commented", "/ideas/1", actor=other)
    db.session.commit()
    return {"customer": customer, "other": other, "staff": staff, "category": category.slug}


def _path(rule, world) -> str:
    values = {}
    for name in rule.arguments:
        if name == "slug":
            values[name] = world["category"] if rule.rule.startswith("/forum") else "getting-started"
        elif name == "kind":
            values[name] = "reply"
        elif name == "token":
            values[name] = "not-a-token"
        elif name == "filename":
            values[name] = "css/coknow.css"
        else:
            values[name] = 1
    return rule.build(values, append_unknown=False)[1]


def _walk(app):
    """(method, rule, blueprint) for every route, destructive ones last."""
    items = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            items.append((any(rule.rule.endswith(d) or d + "/" in rule.rule for d in DESTRUCTIVE), method, rule))
    return [(method, rule) for _last, method, rule in sorted(items, key=lambda x: (x[0], x[2].rule, x[1]))]


def test_every_route_has_an_access_rule(app):
    missing = []
    for method, rule in _walk(app):
        table = ROUTES.get(rule.endpoint.split(".")[0], {})
        if f"{method} {rule.rule}" not in table:
            missing.append(f"{rule.endpoint.split('.')[0]}: \"{method} {rule.rule}\"")
    assert missing == [], "add an access rule to ROUTES for:\n" + "\n".join(missing)


@pytest.mark.slow
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.app_config(RATELIMIT_ENABLED=False, FORUM_NEW_POSTS_PER_HOUR=1000, FORUM_NEW_ACCOUNT_POSTS=0)
def test_every_route_answers_each_role_as_its_rule_says(app, client, world, role):
    if role != "anonymous":
        Auth(client).login(world[role].email)
    token = client.csrf_header_token()
    wrong = []
    for method, rule in _walk(app):
        access = ROUTES[rule.endpoint.split(".")[0]][f"{method} {rule.rule}"]
        if access == "-":
            continue
        path = _path(rule, world)
        kwargs = {"headers": {"X-CSRFToken": token}}
        if method != "GET" and path.startswith("/api/"):
            kwargs["json"] = {}
        elif method != "GET":
            kwargs["data"] = {"csrf_token": token}
        with app.app_context():  # each request its own app context, as in a server
            response = client.open(path, method=method, **kwargs)
        response.close()
        got, want = _outcome(response), EXPECTED[access][role]
        if want != "through" and path.startswith("/api/") and response.status_code == 422:
            continue  # validated before the access check; nothing written (see the module's docstring)
        if want == "denied" and role == "other" and access == "O" and response.status_code in (302, 303) \
                and method == "POST":
            continue  # refused with a flash and a redirect; the state check below proves nothing happened
        if got not in want.split("|"):
            wrong.append(f"{method} {path}: {got} ({response.status_code}), expected {want} [{access}]")
    assert wrong == [], f"as {role}:\n" + "\n".join(wrong)
    if role == "other":
        db.session.expire_all()
        thread, reply = db.session.get(Thread, 1), db.session.get(Reply, 1)
        comment, idea = db.session.get(IdeaComment, 1), db.session.get(Idea, 1)
        assert thread.deleted_at is None and reply.deleted_at is None and not reply.hidden
        assert thread.accepted_reply_id is None and thread.title == "How do I pair the sensor?"
        assert comment is not None and comment.body == "And to Excel, please." and idea.status.value == "open"
        assert idea.title == "Export reports to CSV"


# Socket.IO: namespace -> (who may connect, the events and who may use them). Same letters as ROUTES.
SOCKET_EVENTS: dict[str, dict[str, str]] = {
    "/live": {"connect": "P", "unread": "P", "watch_thread": "P", "unwatch_thread": "P"},
    "/chat": {"connect": "P", "history": "P", "message": "P", "choose": "P", "feedback": "P", "handoff": "P",
              "idea_vote": "S", "idea_follow": "S", "suggest": "P"},
    "/console": {"connect": "T", "heartbeat": "T", "queue": "T", "open": "T", "join": "T", "reply": "T",
                 "close": "T", "hand_back": "T", "save_draft": "T"},
}


def test_every_socket_event_has_an_access_rule(app):
    server = socketio.server
    for namespace, handler in server.namespace_handlers.items():
        events = {name[3:] for name in dir(handler) if name.startswith("on_") and name != "on_disconnect"}
        assert events <= set(SOCKET_EVENTS.get(namespace, {})), (namespace, events - set(SOCKET_EVENTS.get(namespace, {})))


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.app_config(RATELIMIT_ENABLED=False)
def test_every_socket_event_answers_each_role_as_its_rule_says(app, client, world, role):
    if role != "anonymous":
        Auth(client).login(world[role].email)
    wrong = []
    for namespace, events in SOCKET_EVENTS.items():
        with app.app_context():
            sock = socketio.test_client(app, namespace=namespace, flask_test_client=client)
        connected = sock.is_connected(namespace)
        if EXPECTED[events["connect"]][role] == "through" and not connected:
            wrong.append(f"{namespace}: could not connect")
        if EXPECTED[events["connect"]][role] != "through":
            if connected:
                wrong.append(f"{namespace}: connected, expected refusal")
            continue
        for event, access in events.items():
            if event == "connect":
                continue
            with app.app_context():
                ack = sock.emit(event, {"thread_id": 1, "idea_id": 1, "message_id": 1, "conversation_id": "x",
                                        "text": "hello", "choice": "x", "helpful": True}, namespace=namespace,
                                callback=True)
            error = (ack or {}).get("error") or {} if isinstance(ack, dict) else {}
            code = error.get("code", "")
            if code == "internal_error":
                wrong.append(f"{namespace} {event}: internal error")
            refused = code in ("unauthorized", "forbidden", "sign_in_required") or (
                isinstance(ack, dict) and ack.get("ok") is False and error.get("code") == "unauthorized")
            if EXPECTED[access][role] == "login" and not refused:
                wrong.append(f"{namespace} {event}: not refused for {role}: {ack}")
        sock.disconnect(namespace=namespace)
    assert wrong == [], f"as {role}:\n" + "\n".join(wrong)
