"""Privacy: a customer's data export, account deletion, and the log of staff looking at customers.

Deleting an account keeps the user row, anonymised, so the public posts they wrote stay readable
under an anonymous name and every thread, reply and comment of other people stays where it was;
private data (profile, chats' words, notifications, e-mail, follows, preferences, gap wordings) is erased.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, select, update

from community.customers.services.contribution import contribution_of
from community.customers.services.segments import segment_label
from community.customers.services.timeline import full_timeline
from community.errors import Forbidden, ValidationFailed
from community.extensions import db
from community.models import (
    AnswerFeedback, ChatMessage, Conversation, CustomerProfile, CustomerView, GapVariant, Idea, IdeaFollower,
    KnowledgeGap, Notification, NotificationPreference, NotificationSettings, OutgoingEmail, ThreadRead, User,
    utcnow,
)
from community.models.base import as_utc

EXPORT_FORMAT = "coknow-export/1"


def _iso(moment: datetime | None) -> str | None:
    return as_utc(moment).isoformat() if moment else None


def log_view(staff: User, customer: User, what: str = "page") -> None:
    """Record that staff looked at a customer's data (who, whom, when); flushes."""
    db.session.add(CustomerView(staff_id=staff.id, customer_id=customer.id, what=what[:24], viewed_at=utcnow()))
    db.session.flush()


def access_log(page: int = 1, per_page: int = 50, customer_id: int | None = None) -> tuple[list[CustomerView], int]:
    """Staff views of customer data, newest first, with the total (admins read it)."""
    stmt = select(CustomerView)
    if customer_id is not None:
        stmt = stmt.where(CustomerView.customer_id == customer_id)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(CustomerView.viewed_at.desc(), CustomerView.id.desc())
                                   .offset((max(1, page) - 1) * per_page).limit(per_page)))
    return rows, total


def export_data(user: User) -> dict[str, Any]:
    """Everything stored about the person, as JSON-able data: account, profile, timeline, points, access log."""
    profile = db.session.get(CustomerProfile, user.id)
    contribution = contribution_of(user)
    views, _total = access_log(1, 10_000, customer_id=user.id)
    prefs = db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user.id))
    settings = db.session.get(NotificationSettings, user.id)
    return {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow().isoformat(),
        "account": {"id": user.id, "email": user.email, "display_name": user.display_name, "role": user.role.value,
                    "locale": user.locale, "created_at": _iso(user.created_at), "last_seen_at": _iso(user.last_seen_at)},
        "profile": None if profile is None else {
            "company": profile.company, "plan": profile.plan, "annual_value": profile.annual_value,
            "signup_date": profile.signup_date.isoformat() if profile.signup_date else None,
            "attributes": profile.attributes, "segment": profile.segment, "segment_label": segment_label(profile.segment),
            "engagement_90_days": profile.engagement, "support_load_90_days": profile.support_load,
            "interests": profile.interests, "computed_at": _iso(profile.computed_at)},
        "contribution": {"points": contribution.points, "breakdown": contribution.breakdown},
        "notification_settings": {
            "no_email": bool(settings.no_email) if settings else False,
            "groups": {p.group_key: {"in_app": p.in_app, "email": p.email} for p in prefs}},
        "timeline": [item.to_dict() for item in full_timeline(user.id)],
        "staff_views": [{"staff": v.staff.display_name if v.staff else None, "what": v.what,
                         "at": _iso(v.viewed_at)} for v in views],
    }


def anonymous_name(user: User) -> str:
    """The name a deleted account's public posts show."""
    name: str = _("Former member %(n)d", n=user.id)
    return name


def delete_account(user: User, password: str | None, *, by: User | None = None) -> User:
    """Delete the person's account: anonymise their public posts, erase their private data; flushes.

    They confirm with their password; an admin may delete for them (a written request) without it.
    """
    if user.is_deleted:
        raise ValidationFailed(_("This account is already deleted."), {})
    if by is not None and by.id != user.id:
        if not by.is_admin:
            raise Forbidden(_("Only an administrator can delete someone else's account."))
    elif user.password_hash and not user.check_password(password or ""):
        message = _("The password is not correct.")
        raise ValidationFailed(message, {"password": [message]})
    if user.is_admin and by is None:
        # An admin leaving must not leave the site without one; another admin removes the role first.
        raise Forbidden(_("Administrators cannot delete their own account. Ask another admin to remove your role first."))
    uid = user.id
    opts = {"synchronize_session": False}
    # Follows are private; the counters they fed shrink with them.
    followed = list(db.session.scalars(select(IdeaFollower.idea_id).where(IdeaFollower.user_id == uid)))
    db.session.execute(delete(IdeaFollower).where(IdeaFollower.user_id == uid).execution_options(**opts))
    if followed:
        db.session.execute(update(Idea).where(Idea.id.in_(followed))
                           .values(follower_count=Idea.follower_count - 1).execution_options(**opts))
    for model, column in ((Notification, Notification.user_id), (NotificationPreference, NotificationPreference.user_id),
                          (NotificationSettings, NotificationSettings.user_id), (ThreadRead, ThreadRead.user_id),
                          (OutgoingEmail, OutgoingEmail.user_id), (CustomerProfile, CustomerProfile.user_id)):
        db.session.execute(delete(model).where(column == uid).execution_options(**opts))
    # Chats: their words are erased; what the bot and support wrote stays for the transcript's other readers.
    conversations = select(Conversation.id).where(Conversation.user_id == uid).scalar_subquery()
    db.session.execute(update(ChatMessage).where(ChatMessage.conversation_id.in_(conversations),
                                                 ChatMessage.role == "customer")
                       .values(text="", payload=None).execution_options(**opts))
    db.session.execute(update(ChatMessage).where(ChatMessage.conversation_id.in_(conversations))
                       .values(question=None).execution_options(**opts))
    db.session.execute(update(AnswerFeedback).where(AnswerFeedback.user_id == uid)
                       .values(user_id=None, comment="", question="").execution_options(**opts))
    db.session.execute(update(Conversation).where(Conversation.user_id == uid)
                       .values(user_id=None, session_key=None).execution_options(**opts))
    _erase_gap_wordings(uid)
    user.email = f"deleted-{uid}@deleted.invalid"
    user.display_name = anonymous_name(user)
    user.password_hash = None
    user.locale = None
    user.active = False
    user.last_seen_at = None
    user.deleted_at = utcnow()
    db.session.flush()
    return user


def _erase_gap_wordings(uid: int) -> None:
    """Remove the person's wordings from knowledge gaps; a gap titled by them takes the next wording's title."""
    gap_ids = sorted(set(db.session.scalars(select(GapVariant.gap_id).where(GapVariant.user_id == uid))))
    if not gap_ids:
        return
    db.session.execute(delete(GapVariant).where(GapVariant.user_id == uid).execution_options(synchronize_session=False))
    # The erased wording may have been the one a later repeat of the same words deferred to: compare them all again.
    db.session.execute(update(GapVariant).where(GapVariant.gap_id.in_(gap_ids)).values(matches=True)
                       .execution_options(synchronize_session=False))
    for gap in db.session.scalars(select(KnowledgeGap).where(KnowledgeGap.id.in_(gap_ids))):
        db.session.refresh(gap, ["variants"])
        if not gap.variants:
            db.session.delete(gap)
            continue
        gap.ask_count = len(gap.variants)
        gap.title = gap.variants[0].question[:500]
