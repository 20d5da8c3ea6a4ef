"""forum: categories, tags, threads, replies, likes, revisions, flags, read markers

Revision ID: 0004
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade():
    op.create_table(
        "forum_categories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("staff_only", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_categories")),
        sa.UniqueConstraint("slug", name=op.f("uq_forum_categories_slug")),
    )
    op.create_table(
        "forum_tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_forum_tags_name")),
    )
    op.create_table(
        "forum_threads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("last_activity_at", TZ, nullable=False),
        sa.Column("edited_at", TZ, nullable=True),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("deleted_at", TZ, nullable=True),
        sa.Column("accepted_reply_id", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("views", sa.Integer(), nullable=False),
        sa.Column("reply_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_forum_threads_author_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["category_id"], ["forum_categories.id"], name=op.f("fk_forum_threads_category_id_forum_categories"), ondelete="RESTRICT"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_threads")),
        sa.UniqueConstraint("external_id", name=op.f("uq_forum_threads_external_id")),
    )
    with op.batch_alter_table("forum_threads") as batch_op:
        batch_op.create_index("ix_forum_threads_category_activity", ["category_id", "last_activity_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_forum_threads_last_activity_at"), ["last_activity_at"], unique=False)
    op.create_table(
        "forum_thread_tags",
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["tag_id"], ["forum_tags.id"], name=op.f("fk_forum_thread_tags_tag_id_forum_tags"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["thread_id"], ["forum_threads.id"], name=op.f("fk_forum_thread_tags_thread_id_forum_threads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("thread_id", "tag_id", name=op.f("pk_forum_thread_tags")),
    )
    op.create_table(
        "forum_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("edited_at", TZ, nullable=True),
        sa.Column("deleted_at", TZ, nullable=True),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("external_id", sa.String(length=255), nullable=True),
        sa.Column("like_count", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["author_id"], ["users.id"], name=op.f("fk_forum_replies_author_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["thread_id"], ["forum_threads.id"], name=op.f("fk_forum_replies_thread_id_forum_threads"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_replies")),
        sa.UniqueConstraint("external_id", name=op.f("uq_forum_replies_external_id")),
    )
    with op.batch_alter_table("forum_replies") as batch_op:
        batch_op.create_index("ix_forum_replies_thread_created", ["thread_id", "created_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_forum_replies_author_id"), ["author_id"], unique=False)
    # Threads and replies point at each other: the accepted-answer key comes last.
    with op.batch_alter_table("forum_threads") as batch_op:
        batch_op.create_foreign_key(
            batch_op.f("fk_forum_threads_accepted_reply_id_forum_replies"), "forum_replies",
            ["accepted_reply_id"], ["id"], ondelete="SET NULL",
        )
    op.create_table(
        "forum_reply_likes",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("reply_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["reply_id"], ["forum_replies.id"], name=op.f("fk_forum_reply_likes_reply_id_forum_replies"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_forum_reply_likes_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "reply_id", name=op.f("pk_forum_reply_likes")),
    )
    op.create_table(
        "forum_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_kind", sa.Enum("thread", "reply", name="forum_post_kind", native_enum=False, length=8), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("editor_id", sa.Integer(), nullable=True),
        sa.Column("old_title", sa.String(length=200), nullable=True),
        sa.Column("old_body", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["editor_id"], ["users.id"], name=op.f("fk_forum_revisions_editor_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_revisions")),
    )
    with op.batch_alter_table("forum_revisions") as batch_op:
        batch_op.create_index("ix_forum_revisions_post", ["post_kind", "post_id"], unique=False)
    op.create_table(
        "forum_flags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("post_kind", sa.Enum("thread", "reply", name="forum_post_kind", native_enum=False, length=8), nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.Enum("open", "hidden", "dismissed", name="forum_flag_status", native_enum=False, length=12), nullable=False),
        sa.Column("handled_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("handled_at", TZ, nullable=True),
        sa.ForeignKeyConstraint(["handled_by_id"], ["users.id"], name=op.f("fk_forum_flags_handled_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["reporter_id"], ["users.id"], name=op.f("fk_forum_flags_reporter_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_forum_flags")),
        sa.UniqueConstraint("post_kind", "post_id", "reporter_id", name=op.f("uq_forum_flags_post_kind_post_id_reporter_id")),
    )
    with op.batch_alter_table("forum_flags") as batch_op:
        batch_op.create_index("ix_forum_flags_status", ["status"], unique=False)
    op.create_table(
        "forum_thread_reads",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("thread_id", sa.Integer(), nullable=False),
        sa.Column("last_read_at", TZ, nullable=False),
        sa.ForeignKeyConstraint(["thread_id"], ["forum_threads.id"], name=op.f("fk_forum_thread_reads_thread_id_forum_threads"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_forum_thread_reads_user_id_users"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("user_id", "thread_id", name=op.f("pk_forum_thread_reads")),
    )


def downgrade():
    op.drop_table("forum_thread_reads")
    op.drop_table("forum_flags")
    op.drop_table("forum_revisions")
    op.drop_table("forum_reply_likes")
    with op.batch_alter_table("forum_threads") as batch_op:
        batch_op.drop_constraint("fk_forum_threads_accepted_reply_id_forum_replies", type_="foreignkey")
    op.drop_table("forum_replies")
    op.drop_table("forum_thread_tags")
    op.drop_table("forum_threads")
    op.drop_table("forum_tags")
    op.drop_table("forum_categories")
