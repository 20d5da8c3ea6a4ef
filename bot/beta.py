"""Known beta issues in the chat: a tester asking about a problem in their own build hears about the
matching known issue first (with its workaround and fix status), before the help center is searched.

Everyone else meets public known issues through the engine's usual sources (indexed as "beta_issue").
"""
from __future__ import annotations

import re
import time

from flask_babel import gettext as _

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


# Interim cues until the chat's message-kind classifier says "bug report": the offer only adds a link
# under the reply, so a miss costs an offer, never an answer.
_BUG_CUES = re.compile(
    r"\b(crash(?:es|ed|ing)?|bug|broken|freez(?:es|ing)|froze|hangs?|stuck|error|fails?|failed|glitch"
    r"|(?:does ?n[o']?t|doesn't|won't|can't|cannot|isn't|is not|not) (?:work|load|open|sync|refresh|update|show))",
    re.IGNORECASE,
)


def looks_like_bug_report(text: str) -> bool:
    """Whether a message reads as a problem report ("it crashes when…", "the widget doesn't refresh")."""
    return bool(_BUG_CUES.search((text or "").replace("’", "'")))


def report_offer(user: User | None, text: str, reply_source_type: str | None) -> dict | None:
    """For a tester's bug-report message: "Report this for build N", the form prefilled from the message.

    Not offered under a known-issue answer: the tester has just been told it is known.
    """
    if reply_source_type == known_issues.SOURCE_TYPE or not looks_like_bug_report(text):
        return None
    return beta_services.report_offer(user, text)
