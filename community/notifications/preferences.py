"""Who wants what: notification kinds grouped for people to choose, per channel (in-app, e-mail)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Iterable

from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select

from community.errors import NotFound, ValidationFailed
from community.extensions import db
from community.models import NotificationPreference, NotificationSettings, User


@dataclass(frozen=True)
class PreferenceGroup:
    """Kinds people choose together; a kind belongs to the group with its longest matching prefix."""

    key: str
    label: object  # lazy strings, translated when shown
    description: object
    prefixes: tuple[str, ...]
    in_app: bool = True
    email: bool = True


@dataclass(frozen=True)
class Channels:
    in_app: bool
    email: bool


OTHER = PreferenceGroup("other", _l("Everything else"), _l("Notifications that fit none of the groups above."),
                        (), in_app=True, email=False)

# Kinds to come (chat.staff_reply, article.promoted, ...) fall into their group by prefix.
GROUPS: tuple[PreferenceGroup, ...] = (
    PreferenceGroup("replies", _l("Replies and mentions"),
                    _l("Someone replies to your thread, mentions you or accepts your answer."),
                    ("forum.reply", "forum.mention", "forum.accepted", "idea.mention")),
    PreferenceGroup("idea_updates", _l("Ideas you follow"),
                    _l("Status changes, merges and releases of ideas you follow or voted for."), ("idea.",)),
    PreferenceGroup("idea_comments", _l("Comments on ideas you follow"),
                    _l("New comments on ideas you follow."), ("idea.comment",), email=False),
    PreferenceGroup("answers", _l("Answers to your questions"),
                    _l("A question the support bot could not answer now has an answer."), ("gap.",)),
    PreferenceGroup("support", _l("Support chat replies"),
                    _l("Our team answers you in the support chat."), ("chat.",)),
    PreferenceGroup("beta", _l("Beta programs"),
                    _l("Your applications, new builds, and changes to the reports you filed."), ("beta.",)),
    PreferenceGroup("articles", _l("Your answers in the help center"),
                    _l("A forum answer of yours becomes a help-center article."), ("article.",)),
    OTHER,
)
GROUPS_BY_KEY = {group.key: group for group in GROUPS}


def group_for(kind: str) -> PreferenceGroup:
    """The group a notification kind belongs to; unknown kinds belong to OTHER."""
    best, length = OTHER, 0
    for group in GROUPS:
        for prefix in group.prefixes:
            if kind.startswith(prefix) and len(prefix) > length:
                best, length = group, len(prefix)
    return best


def channels_for(user_ids: Collection[int], kind: str) -> dict[int, Channels]:
    """How each user wants to hear about kind: their saved choice or the group's default."""
    group = group_for(kind)
    if not user_ids:
        return {}
    saved = {
        row.user_id: row
        for row in db.session.scalars(
            select(NotificationPreference).where(
                NotificationPreference.user_id.in_(user_ids), NotificationPreference.group_key == group.key
            )
        )
    }
    no_email = set(
        db.session.scalars(
            select(NotificationSettings.user_id).where(
                NotificationSettings.user_id.in_(user_ids), NotificationSettings.no_email.is_(True)
            )
        )
    )
    result = {}
    for user_id in user_ids:
        row = saved.get(user_id)
        in_app = row.in_app if row is not None else group.in_app
        email = row.email if row is not None else group.email
        result[user_id] = Channels(in_app=in_app, email=email and user_id not in no_email)
    return result


@dataclass(frozen=True)
class UserPreferences:
    choices: dict[str, Channels]  # group key -> channels, every group present
    no_email: bool


def preferences_of(user_id: int) -> UserPreferences:
    """Every group's channels for the user (defaults where nothing is saved) and the global switch."""
    rows = {
        row.group_key: row
        for row in db.session.scalars(select(NotificationPreference).where(NotificationPreference.user_id == user_id))
    }
    choices = {}
    for group in GROUPS:
        row = rows.get(group.key)
        choices[group.key] = Channels(row.in_app, row.email) if row else Channels(group.in_app, group.email)
    settings = db.session.get(NotificationSettings, user_id)
    return UserPreferences(choices, bool(settings and settings.no_email))


def save_preferences(user_id: int, in_app: Iterable[str], email: Iterable[str], no_email: bool) -> UserPreferences:
    """Store the user's choice for every group: in_app and email name the groups switched on."""
    in_app, email = set(in_app), set(email)
    unknown = sorted((in_app | email) - GROUPS_BY_KEY.keys())
    if unknown:
        raise ValidationFailed(
            _("These notification groups do not exist: %(names)s.", names=", ".join(unknown)),
            {"groups": [_("Unknown group: %(name)s", name=name) for name in unknown]},
        )
    for group in GROUPS:
        _set_group(user_id, group.key, in_app=group.key in in_app, email=group.key in email)
    settings = db.session.get(NotificationSettings, user_id) or NotificationSettings(user_id=user_id)
    settings.no_email = bool(no_email)
    db.session.add(settings)
    db.session.flush()
    return preferences_of(user_id)


def _set_group(user_id: int, group_key: str, *, in_app: bool, email: bool) -> None:
    row = db.session.get(NotificationPreference, (user_id, group_key))
    if row is None:
        row = NotificationPreference(user_id=user_id, group_key=group_key)
        db.session.add(row)
    row.in_app = in_app
    row.email = email


# ---------------------------------------------------------------- one-click unsubscribe


def _serializer() -> URLSafeSerializer:
    # Unsigned-in, long-lived links: a mailbox read a year later should still unsubscribe.
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="coknow.unsubscribe")


def unsubscribe_token(user_id: int, kind: str) -> str:
    """A signed token that turns off e-mail for kind's group for this user."""
    return _serializer().dumps({"u": user_id, "g": group_for(kind).key})


@dataclass(frozen=True)
class Unsubscription:
    user: User
    group: PreferenceGroup


def read_unsubscribe_token(token: str) -> Unsubscription:
    """The user and group a token names; a changed or foreign token is refused."""
    try:
        data = _serializer().loads(token)
        user_id, group_key = int(data["u"]), str(data["g"])
    except (BadSignature, KeyError, TypeError, ValueError):
        raise ValidationFailed(
            _("This unsubscribe link is not valid. Sign in and change your notification settings instead.")
        ) from None
    user = db.session.get(User, user_id)
    group = GROUPS_BY_KEY.get(group_key)
    if user is None or group is None:
        raise NotFound(_("This unsubscribe link belongs to an account or setting that no longer exists."))
    return Unsubscription(user, group)


def unsubscribe(token: str) -> Unsubscription:
    """Turn off e-mail for the token's group, keeping the in-app choice as it is."""
    target = read_unsubscribe_token(token)
    current = preferences_of(target.user.id).choices[target.group.key]
    _set_group(target.user.id, target.group.key, in_app=current.in_app, email=False)
    db.session.flush()
    return target
