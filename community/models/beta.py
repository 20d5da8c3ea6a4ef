"""Beta programs (knowledge *from* customers): testers, builds, structured reports, known issues, surveys."""
from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.database import UTCDateTime
from community.extensions import Model, db
from community.models.base import Timestamped, utcnow


def _enum(cls: type[enum.Enum], name: str) -> Enum:
    # Strings, not native enums: a new state needs no ALTER TYPE on PostgreSQL.
    return Enum(cls, name=name, native_enum=False, length=16)


class ProgramStatus(str, enum.Enum):
    draft = "draft"
    recruiting = "recruiting"
    running = "running"
    closed = "closed"


class Enrollment(str, enum.Enum):
    open = "open"
    invite_only = "invite_only"


class MembershipStatus(str, enum.Enum):
    applied = "applied"
    invited = "invited"
    accepted = "accepted"
    declined = "declined"
    left = "left"


class ReportKind(str, enum.Enum):
    bug = "bug"
    usability = "usability"
    suggestion = "suggestion"
    praise = "praise"


class Severity(str, enum.Enum):
    critical = "critical"
    major = "major"
    minor = "minor"
    trivial = "trivial"


class ReportState(str, enum.Enum):
    new = "new"
    confirmed = "confirmed"
    in_progress = "in_progress"
    fixed = "fixed"  # fixed in build N (fixed_in_build_id)
    closed = "closed"
    wont_fix = "wont_fix"


class QuestionKind(str, enum.Enum):
    rating = "rating"
    single = "single"
    multiple = "multiple"
    text = "text"


program_ideas = Table(
    "beta_program_ideas",
    db.metadata,
    Column("program_id", ForeignKey("beta_programs.id", ondelete="CASCADE"), primary_key=True),
    Column("idea_id", ForeignKey("ideas.id", ondelete="CASCADE"), primary_key=True),
)

known_issue_builds = Table(
    "beta_known_issue_builds",
    db.metadata,
    Column("known_issue_id", ForeignKey("beta_known_issues.id", ondelete="CASCADE"), primary_key=True),
    Column("build_id", ForeignKey("beta_builds.id", ondelete="CASCADE"), primary_key=True),
)


class BetaProgram(Timestamped, Model):
    __tablename__ = "beta_programs"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(160))
    description: Mapped[str] = mapped_column(Text, default="")  # Markdown
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[ProgramStatus] = mapped_column(_enum(ProgramStatus, "beta_program_status"),
                                                  default=ProgramStatus.recruiting)
    enrollment: Mapped[Enrollment] = mapped_column(_enum(Enrollment, "beta_enrollment"), default=Enrollment.open)
    capacity: Mapped[int | None] = mapped_column(Integer)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[str | None] = mapped_column(Text)  # Markdown; testers accept them to join
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    ideas = relationship("Idea", secondary=program_ideas, order_by="Idea.title")
    builds: Mapped[list[BetaBuild]] = relationship(back_populates="program",
                                                      order_by="BetaBuild.released_at.desc(), BetaBuild.id.desc()")

    @property
    def idea_ids(self) -> list[int]:
        return [idea.id for idea in self.ideas]


class BetaMembership(Model):
    __tablename__ = "beta_memberships"
    __table_args__ = (UniqueConstraint("program_id", "user_id"), Index("ix_beta_memberships_user", "user_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("beta_programs.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[MembershipStatus] = mapped_column(_enum(MembershipStatus, "beta_membership_status"))
    motivation: Mapped[str | None] = mapped_column(Text)
    terms_accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    program: Mapped[BetaProgram] = relationship()
    user = relationship("User", foreign_keys=[user_id])


class TesterEnvironment(Model):
    """The OS, device and app version a tester last reported with, offered on their next report."""

    __tablename__ = "beta_tester_environments"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    os: Mapped[str] = mapped_column(String(80), default="")
    device: Mapped[str] = mapped_column(String(80), default="")
    app_version: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class BetaBuild(Model):
    __tablename__ = "beta_builds"
    __table_args__ = (UniqueConstraint("program_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("beta_programs.id", ondelete="CASCADE"), index=True)
    version: Mapped[str] = mapped_column(String(40))
    notes: Mapped[str] = mapped_column(Text, default="")  # Markdown release notes
    download_url: Mapped[str | None] = mapped_column(String(500))
    released_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    program: Mapped[BetaProgram] = relationship(back_populates="builds")


class BetaReport(Timestamped, Model):
    __tablename__ = "beta_reports"
    __table_args__ = (Index("ix_beta_reports_build_state", "build_id", "state"),
                      Index("ix_beta_reports_program_state", "program_id", "state"))

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("beta_programs.id", ondelete="CASCADE"))
    build_id: Mapped[int] = mapped_column(ForeignKey("beta_builds.id", ondelete="CASCADE"))
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    kind: Mapped[ReportKind] = mapped_column(_enum(ReportKind, "beta_report_kind"))
    severity: Mapped[Severity | None] = mapped_column(_enum(Severity, "beta_severity"))
    title: Mapped[str] = mapped_column(String(200))
    steps: Mapped[str] = mapped_column(Text, default="")
    expected: Mapped[str] = mapped_column(Text, default="")
    actual: Mapped[str] = mapped_column(Text, default="")
    os: Mapped[str] = mapped_column(String(80), default="")
    device: Mapped[str] = mapped_column(String(80), default="")
    app_version: Mapped[str] = mapped_column(String(40), default="")
    state: Mapped[ReportState] = mapped_column(_enum(ReportState, "beta_report_state"), default=ReportState.new)
    fixed_in_build_id: Mapped[int | None] = mapped_column(ForeignKey("beta_builds.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("beta_reports.id", ondelete="SET NULL"))
    idea_id: Mapped[int | None] = mapped_column(ForeignKey("ideas.id", ondelete="SET NULL"))
    # Denormalised: other testers who have it too (merged duplicates' reporters and "me too" clicks).
    me_too_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    triaged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fixed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    program: Mapped[BetaProgram] = relationship()
    build: Mapped[BetaBuild] = relationship(foreign_keys=[build_id])
    fixed_in_build: Mapped[BetaBuild | None] = relationship(foreign_keys=[fixed_in_build_id])
    reporter = relationship("User")
    idea = relationship("Idea")
    merged_into: Mapped[BetaReport | None] = relationship(remote_side=[id])
    attachments: Mapped[list[BetaAttachment]] = relationship(back_populates="report", order_by="BetaAttachment.id")


class ReportSupporter(Model):
    """Another tester who has the same problem: a "me too", or the reporter of a merged duplicate."""

    __tablename__ = "beta_report_supporters"
    __table_args__ = (UniqueConstraint("report_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("beta_reports.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    via: Mapped[str] = mapped_column(String(16), default="me_too")  # "me_too" or "merged"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user = relationship("User")


class ReportEvent(Model):
    """One step of a report's history: state changes, merges, comments are separate (ReportComment)."""

    __tablename__ = "beta_report_events"
    __table_args__ = (Index("ix_beta_report_events_report_at", "report_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("beta_reports.id", ondelete="CASCADE"))
    event: Mapped[str] = mapped_column(String(16), default="state")  # "filed", "state", "merged"
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    by = relationship("User")


class ReportComment(Model):
    __tablename__ = "beta_report_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("beta_reports.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text)  # Markdown
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author = relationship("User")


class BetaAttachment(Model):
    """A file attached to a report, stored under a random name outside the web root."""

    __tablename__ = "beta_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("beta_reports.id", ondelete="CASCADE"), index=True)
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    stored_name: Mapped[str] = mapped_column(String(80), unique=True)
    thumb_name: Mapped[str | None] = mapped_column(String(80))
    original_name: Mapped[str] = mapped_column(String(120))
    content_type: Mapped[str] = mapped_column(String(60))
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    report: Mapped[BetaReport] = relationship(back_populates="attachments")

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


class KnownIssue(Timestamped, Model):
    __tablename__ = "beta_known_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("beta_programs.id", ondelete="CASCADE"), index=True)
    report_id: Mapped[int | None] = mapped_column(ForeignKey("beta_reports.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")  # the public text, Markdown
    workaround: Mapped[str] = mapped_column(Text, default="")
    # Public: everyone (and the bot, for everyone); else only the program's testers see it.
    public: Mapped[bool] = mapped_column(default=False)
    fixed_in_build_id: Mapped[int | None] = mapped_column(ForeignKey("beta_builds.id", ondelete="SET NULL"))
    seed_key: Mapped[str | None] = mapped_column(String(160), unique=True)

    program: Mapped[BetaProgram] = relationship()
    report: Mapped[BetaReport | None] = relationship()
    fixed_in_build: Mapped[BetaBuild | None] = relationship()
    builds: Mapped[list[BetaBuild]] = relationship(secondary=known_issue_builds, order_by=BetaBuild.released_at)


class Survey(Model):
    __tablename__ = "beta_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    build_id: Mapped[int] = mapped_column(ForeignKey("beta_builds.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    build: Mapped[BetaBuild] = relationship()
    questions: Mapped[list[SurveyQuestion]] = relationship(order_by="SurveyQuestion.position",
                                                              cascade="all, delete-orphan")


class SurveyQuestion(Model):
    __tablename__ = "beta_survey_questions"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("beta_surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(_enum(QuestionKind, "beta_question_kind"))
    prompt: Mapped[str] = mapped_column(String(300))
    options: Mapped[list[str]] = mapped_column(JSON, default=list)
    scale_max: Mapped[int] = mapped_column(Integer, default=5)


class SurveyResponse(Model):
    __tablename__ = "beta_survey_responses"
    __table_args__ = (UniqueConstraint("survey_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("beta_surveys.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # question id (as a string: JSON keys) -> an int (rating), a string (single, text) or a list (multiple)
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
