"""Known beta issues in the chat: a tester asking about a problem in their own build hears about the
matching known issue first (with its workaround and fix status), before the help center is searched.

Everyone else meets public known issues through the engine's usual sources (indexed as "beta_issue").
"""
from __future__ import annotations

import time

from flask_babel import gettext as _

from bot.bugs import ReportOffer
from bot.engine import Reply, SourceRef
from bot.knowledge import document_key
from community.beta.services import known_issues
from community.beta import services as beta_services
from community.models import User


def known_issue_reply(user: User | None, question: str) -> Reply | None:
    """An answer from a known issue of the tester's programs, or None (not a tester, or no issue matches)."""
    started = time.perf_counter()
    match = known_issues.match_for_tester(user, question)
    if match is None:
        return None
    issue = match.issue
    key = document_key(known_issues.SOURCE_TYPE, str(issue.id))
    if match.affects_build and match.build is not None:
        text = _("This is a known issue in build %(version)s: “%(title)s”.", version=match.build.version,
                 title=issue.title)
    else:
        text = _("This is a known issue in the beta: “%(title)s”.", title=issue.title)
    parts = [issue.body]
    if issue.workaround:
        parts.append(_("Workaround: %(text)s", text=issue.workaround))
    parts.append(known_issues.fix_status(issue))
    source = SourceRef(key, known_issues.SOURCE_TYPE, str(issue.id), issue.title,
                       known_issues.known_issue_url(issue))
    reply = Reply(kind="answer", text=text, question=question, confidence=round(match.score, 4), source=source,
                  passage="\n\n".join(p for p in parts if p), ranked=[key])
    reply.latency_ms = (time.perf_counter() - started) * 1000
    return reply




def report_offer(user: User | None, text: str) -> ReportOffer | None:
    """bot.bugs' report-offer source: a tester's bug report is offered "Report this for build N", the form
    prefilled from the message (the message kind classifier decides what is a bug report)."""
    offer = beta_services.report_offer(user, text)
    return None if offer is None else ReportOffer(str(offer["label"]), str(offer["url"]))
