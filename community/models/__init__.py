"""All models, imported here so Alembic and the app see every table."""
from community.models.base import Timestamped, utcnow
from community.models.knowledge import Article, ArticleSource, ArticleStatus, KbCategory
from community.models.notification import Notification
from community.models.user import Role, User, find_user_by_email

__all__ = [
    "Article",
    "ArticleSource",
    "ArticleStatus",
    "KbCategory",
    "Notification",
    "Role",
    "Timestamped",
    "User",
    "find_user_by_email",
    "utcnow",
]
