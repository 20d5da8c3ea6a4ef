"""All models, imported here so Alembic and the app see every table."""
from community.models.base import Timestamped, utcnow
from community.models.chat import AnswerFeedback, ChatMessage, Conversation, ConversationStatus
from community.models.forum import (
    Flag,
    FlagStatus,
    ForumCategory,
    PostKind,
    PostRevision,
    Reply,
    ReplyLike,
    Tag,
    Thread,
    ThreadRead,
)
from community.models.gap import GapSource, GapStatus, GapVariant, KnowledgeGap
from community.models.idea import (
    CLOSED_STATUSES,
    ChangelogEntry,
    CommentRevision,
    ContentReview,
    Idea,
    IdeaComment,
    IdeaFollower,
    IdeaStatus,
    IdeaStatusChange,
    Vote,
    changelog_ideas,
)
from community.models.index import index_entries
from community.models.job import JobRun, JobState
from community.models.knowledge import Article, ArticleFeedback, ArticleSource, ArticleStatus, KbCategory
from community.models.notification import Notification, NotificationPreference, NotificationSettings
from community.models.outbox import EmailStatus, OutgoingEmail
from community.models.session import LoginSession
from community.models.support import StaffPresence
from community.models.user import Role, User, find_user_by_email

__all__ = [
    "AnswerFeedback",
    "ChatMessage",
    "Conversation",
    "ConversationStatus",
    "CLOSED_STATUSES",
    "ChangelogEntry",
    "CommentRevision",
    "ContentReview",
    "Idea",
    "IdeaComment",
    "IdeaFollower",
    "IdeaStatus",
    "IdeaStatusChange",
    "Vote",
    "changelog_ideas",
    "Article",
    "ArticleFeedback",
    "Flag",
    "GapSource",
    "GapStatus",
    "GapVariant",
    "KnowledgeGap",
    "LoginSession",
    "FlagStatus",
    "ForumCategory",
    "PostKind",
    "PostRevision",
    "Reply",
    "ReplyLike",
    "Tag",
    "Thread",
    "ThreadRead",
    "ArticleSource",
    "ArticleStatus",
    "KbCategory",
    "Notification",
    "NotificationPreference",
    "NotificationSettings",
    "EmailStatus",
    "OutgoingEmail",
    "Role",
    "StaffPresence",
    "Timestamped",
    "User",
    "find_user_by_email",
    "index_entries",
    "JobRun",
    "JobState",
    "utcnow",
]
