"""An idea's life: submit and edit, statuses and their reviews, merge, and the changelog that closes the loop."""
from __future__ import annotations

from typing import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, func, select, update

from community import search
from community.webhooks import emit_event, payloads
from community.errors import Forbidden, ValidationFailed
from community.extensions import db
from community.markup import plain_text
from community.mentions import mentioned_users as find_mentions
from community.models import (
    Article, ChangelogEntry, ContentReview, Idea, IdeaComment, IdeaFollower,
    IdeaStatus, IdeaStatusChange, User, Vote, changelog_ideas, utcnow,
)
from community.notifications.services import notify
from community.ideas.services.demand import requesters
from community.ideas.services.rules import (
    IdeaMerged,
    MAX_BODY,
    MAX_CHANGELOG_TITLE,
    MAX_REASON,
    REVIEW_THRESHOLD,
    _open_for_change,
    _optional_text,
    _reindex,
    _require_staff,
    _required_text,
    check_idea,
    check_posting_rate,
    idea_url,
    parse_status,
    status_label,
)
from community.ideas.services.voting import audience, follow_idea


def submit_idea(author: User, title: str | None, body: str | None, category: str | None = None,
                tags: Iterable[str] | str | None = None, external_id: str | None = None, *,
                limit_rate: bool = True) -> Idea:
    """Post a new idea; its author follows it. Indexed for duplicate suggestions in this transaction."""
    title, body, category, tag_list = check_idea(title, body, category, tags)
    if limit_rate:
        check_posting_rate(author, "idea")
    idea = Idea(title=title, body=body, author_id=author.id, category=category, tags=tag_list,
                status=IdeaStatus.open, external_id=external_id)
    db.session.add(idea)
    db.session.flush()
    db.session.add(IdeaStatusChange(idea_id=idea.id, event="posted", from_status=None, to_status=IdeaStatus.open,
                                    by_id=author.id))
    follow_idea(author, idea)
    _reindex(idea)
    _notify_mentions(idea, author, [u for u in find_mentions(body) if u.id != author.id])
    emit_event("idea.created", payloads.idea(idea))
    return idea


def _notify_mentions(idea: Idea, actor: User, users: list[User]) -> None:
    notify(users, "idea.mention", _l("%(name)s mentioned you on “%(title)s”", name=actor.display_name,
                                    title=idea.title), idea_url(idea), plain_text(idea.body)[:300], actor=actor)


def edit_idea(idea: Idea, editor: User, title: str | None, body: str | None, category: str | None,
              tags: Iterable[str] | str | None) -> Idea:
    """Change an idea's text: staff always, the author while it is still open."""
    if not (editor.is_staff or (editor.id == idea.author_id and idea.status is IdeaStatus.open)):
        raise Forbidden(_("Only staff can edit this idea now."))
    if idea.merged_into_id is not None:
        raise IdeaMerged(idea.merged_into_id)
    before = {u.id for u in find_mentions(idea.body)}
    idea.title, idea.body, idea.category, idea.tags = check_idea(title, body, category, tags)
    db.session.flush()
    _reindex(idea)
    _notify_mentions(idea, editor, [u for u in find_mentions(idea.body) if u.id not in before and u.id != editor.id])
    return idea


def change_status(idea: Idea, new_status: str | IdeaStatus, by: User, reason: str | None = None, *,
                  changelog: ChangelogEntry | None = None, notify_users: bool = True) -> IdeaStatusChange:
    """Move an idea to a status (staff only), put it on the timeline and tell voters and followers."""
    _require_staff(by)
    status = parse_status(new_status)
    reason = _optional_text(reason, "reason", MAX_REASON, _("Reason"))
    if status is IdeaStatus.declined and not reason:
        message = _("Say why the idea is declined; voters will read it.")
        raise ValidationFailed(message, {"reason": [message]})
    state = _open_for_change(idea.id)
    if state.status is status:
        message = _("The idea is already %(status)s.", status=status_label(status))
        raise ValidationFailed(message, {"status": [message]})
    db.session.refresh(idea)
    change = IdeaStatusChange(idea_id=idea.id, event="status", from_status=idea.status, to_status=status,
                              reason=reason, by_id=by.id, at=utcnow())
    db.session.add(change)
    idea.status = status
    idea.status_reason = reason
    if status is IdeaStatus.shipped:
        idea.shipped_at = utcnow()
    db.session.flush()
    _reindex(idea)
    from_status = change.from_status.value if change.from_status else None
    emit_event("idea.status_changed", {"idea": payloads.idea(idea), "from_status": from_status,
                                       "to_status": status.value, "reason": reason, "changed_by_id": by.id})
    if notify_users:
        recipients = audience(idea.id)
        if status is IdeaStatus.shipped:
            recipients |= requesters(idea.id)
        title = _("“%(title)s” is now %(status)s", title=idea.title, status=status_label(status))
        body = reason or ""
        if changelog is not None:
            body = _("Released in: %(entry)s", entry=changelog.title)
        notify(sorted(recipients), "idea.status", title, idea_url(idea), body, actor=by)
    if status is IdeaStatus.shipped:
        flag_content_for_review(idea)
    return change


def flag_content_for_review(idea: Idea, threshold: float | None = None) -> list[ContentReview]:
    """Flag help-center articles and accepted answers that describe the shipped idea, for staff to re-read."""
    text = f"{idea.title}\n\n{plain_text(idea.body)}"
    matches = search.similar(text, source_types=["article", "answer"], k=10,
                             min_score=REVIEW_THRESHOLD if threshold is None else threshold)
    created: list[ContentReview] = []
    reason = _("“%(title)s” shipped; check this still describes the product.", title=idea.title)
    for match in matches:
        open_flag = db.session.scalar(select(ContentReview.id).where(
            ContentReview.source_type == match.source_type, ContentReview.source_id == match.source_id,
            ContentReview.idea_id == idea.id, ContentReview.resolved_at.is_(None)))
        if open_flag is not None:
            continue
        if match.source_type == "article":
            article = db.session.get(Article, int(match.source_id)) if match.source_id.isdigit() else None
            if article is None:
                continue
            article.needs_review = True
        review = ContentReview(source_type=match.source_type, source_id=match.source_id, reason=reason,
                               score=round(match.score, 4), idea_id=idea.id, created_at=utcnow())
        db.session.add(review)
        created.append(review)
    db.session.flush()
    return created


def resolve_review(review: ContentReview, by: User) -> None:
    """Mark a review flag done; an article stays flagged while any other flag on it is open."""
    _require_staff(by)
    if review.resolved_at is not None:
        return
    review.resolved_at = utcnow()
    review.resolved_by_id = by.id
    db.session.flush()
    if review.source_type == "article" and review.source_id.isdigit():
        still_open = db.session.scalar(select(func.count()).select_from(ContentReview).where(
            ContentReview.source_type == "article", ContentReview.source_id == review.source_id,
            ContentReview.resolved_at.is_(None)))
        article = db.session.get(Article, int(review.source_id))
        if article is not None and not still_open:
            article.needs_review = False
            db.session.flush()


def open_reviews() -> list[ContentReview]:
    """Unresolved review flags, newest first."""
    return list(db.session.scalars(select(ContentReview).where(ContentReview.resolved_at.is_(None))
                                   .order_by(ContentReview.created_at.desc(), ContentReview.id.desc())))


def timeline(idea: Idea) -> list[IdeaStatusChange]:
    """The idea's public history, oldest first."""
    return list(db.session.scalars(select(IdeaStatusChange).where(IdeaStatusChange.idea_id == idea.id)
                                   .order_by(IdeaStatusChange.at, IdeaStatusChange.id)))


def merge_ideas(source: Idea, target: Idea, by: User) -> Idea:
    """Fold source into target: votes (each customer once), followers and comments move; source redirects."""
    _require_staff(by)
    if source.id == target.id:
        message = _("An idea cannot be merged into itself.")
        raise ValidationFailed(message, {"target_id": [message]})
    # Lock both rows in id order so two merges (or votes) cannot deadlock.
    for idea_id in sorted((source.id, target.id)):
        _open_for_change(idea_id)
    both_voted = select(Vote.user_id).where(Vote.idea_id == target.id)
    both_follow = select(IdeaFollower.user_id).where(IdeaFollower.idea_id == target.id)
    notified = audience(source.id)
    opts = {"synchronize_session": False}
    db.session.execute(delete(Vote).where(Vote.idea_id == source.id, Vote.user_id.in_(both_voted))
                       .execution_options(**opts))
    db.session.execute(update(Vote).where(Vote.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    db.session.execute(delete(IdeaFollower).where(IdeaFollower.idea_id == source.id,
                                                  IdeaFollower.user_id.in_(both_follow)).execution_options(**opts))
    db.session.execute(update(IdeaFollower).where(IdeaFollower.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    db.session.execute(update(IdeaComment).where(IdeaComment.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    linked = select(changelog_ideas.c.entry_id).where(changelog_ideas.c.idea_id == target.id)
    db.session.execute(delete(changelog_ideas).where(changelog_ideas.c.idea_id == source.id,
                                                     changelog_ideas.c.entry_id.in_(linked)))
    db.session.execute(update(changelog_ideas).where(changelog_ideas.c.idea_id == source.id)
                       .values(idea_id=target.id))
    db.session.execute(update(ContentReview).where(ContentReview.idea_id == source.id).values(idea_id=target.id)
                       .execution_options(**opts))
    # Recount rather than add: the rows moved minus the duplicates removed, exactly.
    db.session.execute(update(Idea).where(Idea.id == target.id).values(
        vote_count=select(func.count()).select_from(Vote).where(Vote.idea_id == target.id).scalar_subquery(),
        follower_count=select(func.count()).select_from(IdeaFollower)
        .where(IdeaFollower.idea_id == target.id).scalar_subquery(),
        comment_count=select(func.count()).select_from(IdeaComment)
        .where(IdeaComment.idea_id == target.id, IdeaComment.deleted_at.is_(None)).scalar_subquery(),
    ).execution_options(**opts))
    db.session.execute(update(Idea).where(Idea.id == source.id).values(
        merged_into_id=target.id, vote_count=0, follower_count=0, comment_count=0).execution_options(**opts))
    db.session.add(IdeaStatusChange(idea_id=target.id, event="merged", from_status=target.status,
                                    to_status=target.status, reason=source.title, by_id=by.id, at=utcnow()))
    db.session.flush()
    db.session.expire_all()
    search.remove_document("idea", source.id)
    emit_event("idea.merged", {"source_id": source.id, "target": payloads.idea(target), "merged_by_id": by.id})
    notify(sorted(notified), "idea.merged",
           _l("“%(source)s” was merged into “%(target)s”", source=source.title, target=target.title),
           idea_url(target), _l("Your vote and follow moved with it."), actor=by)
    return target


def resolve_merged(idea: Idea, depth: int = 5) -> Idea:
    """Follow merge redirects to the idea that now carries the votes."""
    while idea.merged_into_id is not None and depth > 0:
        idea = db.session.get(Idea, idea.merged_into_id) or idea
        depth -= 1
    return idea


def publish_changelog(author: User, title: str | None, body: str | None, idea_ids: Iterable[int]) -> ChangelogEntry:
    """Publish a changelog entry; the ideas it delivers become shipped and their voters are told."""
    _require_staff(author)
    title = _required_text(title, "title", MAX_CHANGELOG_TITLE, _("Title"))
    body = (body or "").strip()
    if len(body) > MAX_BODY:
        message = _("The text can be at most %(n)d characters long.", n=MAX_BODY)
        raise ValidationFailed(message, {"body": [message]})
    ids = sorted({int(i) for i in idea_ids})
    ideas = list(db.session.scalars(select(Idea).where(Idea.id.in_(ids)))) if ids else []
    if len(ideas) != len(ids) or any(i.merged_into_id is not None for i in ideas):
        message = _("Some of the chosen ideas do not exist or were merged.")
        raise ValidationFailed(message, {"ideas": [message]})
    entry = ChangelogEntry(title=title, body=body, author_id=author.id, published_at=utcnow())
    entry.ideas = ideas
    db.session.add(entry)
    db.session.flush()
    for idea in ideas:
        if idea.status is not IdeaStatus.shipped:
            change_status(idea, IdeaStatus.shipped, author, changelog=entry)
        else:
            notify(sorted(audience(idea.id) | requesters(idea.id)), "idea.changelog",
                   _l("“%(title)s” is in the changelog", title=idea.title),
                   f"/ideas/changelog#entry-{entry.id}", entry.title, actor=author)
    return entry


def changelog_entries(limit: int = 50) -> list[ChangelogEntry]:
    """Published changelog entries, newest first."""
    return list(db.session.scalars(select(ChangelogEntry).order_by(ChangelogEntry.published_at.desc(),
                                                                   ChangelogEntry.id.desc()).limit(limit)))
