"""Bug reports in chat: a message recognised as a bug report (bot.kinds) is acknowledged as a problem, with
what the customer can do next (ask the community whether others see it, talk to a person), and the
help-center article that may fix it when the engine found one.

Beta programs plug in through one hook: `register_report_offer`. A registered source looks at who wrote the
report and what they wrote, and may return an offer ("Report this for build N" and where that leads) for a
tester of a beta build; the chat shows the first offer any source makes. The beta feature registers its
source where the app is wired (community.create_app), so this module names no beta code.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask_babel import gettext as _

from bot.engine import Reply
from bot.kinds import BUG_REPORT
from bot.idea_requests import recast
from community.models import User

BUG_KIND = BUG_REPORT  # the reply kind when no article fits: the problem acknowledged, with next steps
BUG_NEXT_STEPS = ["ask_community", "contact_staff"]


@dataclass(frozen=True)
class ReportOffer:
    """What a tester is offered for a bug report: a button label ("Report this for build 5.3 beta 2") and its URL."""

    label: str
    url: str


ReportOfferSource = Callable[[User | None, str], ReportOffer | None]
_offer_sources: list[ReportOfferSource] = []


def register_report_offer(source: ReportOfferSource) -> None:
    """Let a feature offer a bug report to its testers (called once per process at start; repeats are ignored)."""
    if source not in _offer_sources:
        _offer_sources.append(source)


def unregister_report_offer(source: ReportOfferSource) -> None:
    """Remove a source registered with register_report_offer (tests)."""
    if source in _offer_sources:
        _offer_sources.remove(source)


def report_offer(user: User | None, text: str) -> ReportOffer | None:
    """The offer for this bug report: "Report this for build N" when its writer tests a beta build, else None.

    The one place a beta program meets a chat bug report; the sources registered with register_report_offer
    decide (the writer's programs and builds, a prefilled report form), the first offer wins.
    """
    for source in _offer_sources:
        offer = source(user, text)
        if offer is not None:
            return offer
    return None


def acknowledge(reply: Reply, message_kind: str, user: User | None, text: str) -> Reply:
    """The reply to a bug report: the problem acknowledged with next steps, and the fix article when there is one.

    Any other kind of message keeps its reply. A "did you mean" (clarify) stays: picking the right
    troubleshooting article is the quickest fix.
    """
    if message_kind != BUG_REPORT or reply.kind == "clarify":
        return reply
    offer = report_offer(user, text)
    offer_dict = None if offer is None else {"label": offer.label, "url": offer.url}
    steps = [*(["report_beta"] if offer else []), *BUG_NEXT_STEPS]
    if reply.kind == "answer" and reply.source is not None:
        return recast(reply, text=_("Sorry you ran into this. “%(title)s” may help fix it; if it doesn't, ask the "
                                    "community or talk to a person from support.", title=reply.source.title),
                      next_steps=steps, report_offer=offer_dict)
    if reply.kind == "abstain":
        return recast(reply, kind=BUG_KIND,
                      text=_("Sorry, that sounds like a problem with the product, and I couldn't find a fix in our "
                             "help center. A person from support can look into it, or ask the community whether "
                             "others see it too."),
                      next_steps=steps, report_offer=offer_dict)
    return reply
