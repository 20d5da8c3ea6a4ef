"""Comments on ideas: add (with mentions), edit with history, delete."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from community.errors import Forbidden, NotFound
from community.extensions import db
from community.markup import plain_text
from community.mentions import mentioned_users as find_mentions
from community.models import (
    CommentRevision, Idea, IdeaComment, IdeaFollower,
    User, utcnow,
)
from community.notifications.services import notify
from community.ideas.services.rules import (
    MAX_COMMENT,
    _bump,
    _open_for_change,
    _required_text,
    check_posting_rate,
    idea_url,
)
from community.ideas.services.voting import follow_idea


def add_comment(idea: Idea, author: User, body: str | None, *, notify_users: bool = True,
                limit_rate: bool = True) -> IdeaComment:
    """Comment on an idea (staff comments are official); the author follows it; mentions are told."""
    text = _required_text(body, "body", MAX_COMMENT, _("Comment"))
    if limit_rate:
        check_posting_rate(author, "comment")
    _open_for_change(idea.id)
    comment = IdeaComment(idea_id=idea.id, author_id=author.id, body=text, official=author.is_staff,
                          created_at=utcnow())
    db.session.add(comment)
    db.session.flush()
    _bump(idea, "comment_count", 1)
    follow_idea(author, idea)
    if notify_users:
        mentioned = [u for u in find_mentions(text) if u.id != author.id]
        link = idea_url(idea) + f"#comment-{comment.id}"
        notify(mentioned, "idea.mention", _l("%(name)s mentioned you on “%(title)s”", name=author.display_name,
                                            title=idea.title), link, plain_text(text)[:300], actor=author)
        already = {u.id for u in mentioned}
        notify(sorted(audience_followers(idea.id) - already), "idea.comment",
               _l("%(name)s commented on “%(title)s”", name=author.display_name, title=idea.title),
               link, plain_text(text)[:300], actor=author)
    return comment


def audience_followers(idea_id: int) -> set[int]:
    """The idea's followers (comments go to them, not to every voter)."""
    return set(db.session.scalars(select(IdeaFollower.user_id).where(IdeaFollower.idea_id == idea_id)))


def _may_change_comment(comment: IdeaComment, user: User) -> None:
    if comment.deleted_at is not None:
        raise NotFound(_("This comment was deleted."))
    if not (user.is_staff or user.id == comment.author_id):
        raise Forbidden(_("You can only change your own comments."))


def edit_comment(comment: IdeaComment, editor: User, body: str | None) -> IdeaComment:
    """Change a comment, keeping its previous text as a revision; newly mentioned people are told."""
    _may_change_comment(comment, editor)
    text = _required_text(body, "body", MAX_COMMENT, _("Comment"))
    if text == comment.body:
        return comment
    before = {u.id for u in find_mentions(comment.body)}
    db.session.add(CommentRevision(comment_id=comment.id, body=comment.body, edited_by_id=editor.id,
                                   created_at=utcnow()))
    comment.body = text
    comment.edited_at = utcnow()
    db.session.flush()
    new = [u for u in find_mentions(text) if u.id not in before and u.id != editor.id]
    if new:
        idea = comment.idea
        notify(new, "idea.mention", _l("%(name)s mentioned you on “%(title)s”", name=editor.display_name,
                                      title=idea.title), idea_url(idea) + f"#comment-{comment.id}",
               plain_text(text)[:300], actor=editor)
    return comment


def delete_comment(comment: IdeaComment, user: User) -> None:
    """Hide a comment (its author or staff); revisions stay for moderation."""
    _may_change_comment(comment, user)
    comment.deleted_at = utcnow()
    db.session.flush()
    _bump(comment.idea, "comment_count", -1)


def comments(idea: Idea) -> list[IdeaComment]:
    """Visible comments, oldest first."""
    return list(db.session.scalars(select(IdeaComment).where(IdeaComment.idea_id == idea.id,
                                                             IdeaComment.deleted_at.is_(None))
                                   .options(selectinload(IdeaComment.author))
                                   .order_by(IdeaComment.created_at, IdeaComment.id)))
