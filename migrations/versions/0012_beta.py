"""beta programs: programs, testers, builds, reports with attachments, known issues, surveys

Revision ID: 0012_beta
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa

revision = '0012_beta'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('beta_programs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=80), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('features', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'recruiting', 'running', 'closed', name='beta_program_status', native_enum=False, length=16), nullable=False),
    sa.Column('enrollment', sa.Enum('open', 'invite_only', name='beta_enrollment', native_enum=False, length=16), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=True),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('terms', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_beta_programs_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_programs')),
    sa.UniqueConstraint('slug', name=op.f('uq_beta_programs_slug'))
    )
    op.create_table('beta_tester_environments',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('os', sa.String(length=80), nullable=False),
    sa.Column('device', sa.String(length=80), nullable=False),
    sa.Column('app_version', sa.String(length=40), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_beta_tester_environments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_beta_tester_environments'))
    )
    op.create_table('beta_builds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('download_url', sa.String(length=500), nullable=True),
    sa.Column('released_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_beta_builds_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['beta_programs.id'], name=op.f('fk_beta_builds_program_id_beta_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_builds')),
    sa.UniqueConstraint('program_id', 'version', name=op.f('uq_beta_builds_program_id_version'))
    )
    with op.batch_alter_table('beta_builds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_builds_program_id'), ['program_id'], unique=False)

    op.create_table('beta_memberships',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('applied', 'invited', 'accepted', 'declined', 'left', name='beta_membership_status', native_enum=False, length=16), nullable=False),
    sa.Column('motivation', sa.Text(), nullable=True),
    sa.Column('terms_accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_beta_memberships_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['beta_programs.id'], name=op.f('fk_beta_memberships_program_id_beta_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_beta_memberships_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_memberships')),
    sa.UniqueConstraint('program_id', 'user_id', name=op.f('uq_beta_memberships_program_id_user_id'))
    )
    with op.batch_alter_table('beta_memberships', schema=None) as batch_op:
        batch_op.create_index('ix_beta_memberships_user', ['user_id'], unique=False)

    op.create_table('beta_program_ideas',
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('idea_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_beta_program_ideas_idea_id_ideas'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['program_id'], ['beta_programs.id'], name=op.f('fk_beta_program_ideas_program_id_beta_programs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('program_id', 'idea_id', name=op.f('pk_beta_program_ideas'))
    )
    op.create_table('beta_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('bug', 'usability', 'suggestion', 'praise', name='beta_report_kind', native_enum=False, length=16), nullable=False),
    sa.Column('severity', sa.Enum('critical', 'major', 'minor', 'trivial', name='beta_severity', native_enum=False, length=16), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('steps', sa.Text(), nullable=False),
    sa.Column('expected', sa.Text(), nullable=False),
    sa.Column('actual', sa.Text(), nullable=False),
    sa.Column('os', sa.String(length=80), nullable=False),
    sa.Column('device', sa.String(length=80), nullable=False),
    sa.Column('app_version', sa.String(length=40), nullable=False),
    sa.Column('state', sa.Enum('new', 'confirmed', 'in_progress', 'fixed', 'closed', 'wont_fix', name='beta_report_state', native_enum=False, length=16), nullable=False),
    sa.Column('fixed_in_build_id', sa.Integer(), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('idea_id', sa.Integer(), nullable=True),
    sa.Column('me_too_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('triaged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('fixed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['beta_builds.id'], name=op.f('fk_beta_reports_build_id_beta_builds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['fixed_in_build_id'], ['beta_builds.id'], name=op.f('fk_beta_reports_fixed_in_build_id_beta_builds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['idea_id'], ['ideas.id'], name=op.f('fk_beta_reports_idea_id_ideas'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['merged_into_id'], ['beta_reports.id'], name=op.f('fk_beta_reports_merged_into_id_beta_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['beta_programs.id'], name=op.f('fk_beta_reports_program_id_beta_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_beta_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_reports'))
    )
    with op.batch_alter_table('beta_reports', schema=None) as batch_op:
        batch_op.create_index('ix_beta_reports_build_state', ['build_id', 'state'], unique=False)
        batch_op.create_index('ix_beta_reports_program_state', ['program_id', 'state'], unique=False)
        batch_op.create_index(batch_op.f('ix_beta_reports_reporter_id'), ['reporter_id'], unique=False)

    op.create_table('beta_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['beta_builds.id'], name=op.f('fk_beta_surveys_build_id_beta_builds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_surveys'))
    )
    with op.batch_alter_table('beta_surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_surveys_build_id'), ['build_id'], unique=False)

    op.create_table('beta_attachments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('uploader_id', sa.Integer(), nullable=True),
    sa.Column('stored_name', sa.String(length=80), nullable=False),
    sa.Column('thumb_name', sa.String(length=80), nullable=True),
    sa.Column('original_name', sa.String(length=120), nullable=False),
    sa.Column('content_type', sa.String(length=60), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['beta_reports.id'], name=op.f('fk_beta_attachments_report_id_beta_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploader_id'], ['users.id'], name=op.f('fk_beta_attachments_uploader_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_attachments')),
    sa.UniqueConstraint('stored_name', name=op.f('uq_beta_attachments_stored_name'))
    )
    with op.batch_alter_table('beta_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_attachments_report_id'), ['report_id'], unique=False)

    op.create_table('beta_known_issues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('program_id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=True),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('workaround', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('fixed_in_build_id', sa.Integer(), nullable=True),
    sa.Column('seed_key', sa.String(length=160), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['fixed_in_build_id'], ['beta_builds.id'], name=op.f('fk_beta_known_issues_fixed_in_build_id_beta_builds'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['program_id'], ['beta_programs.id'], name=op.f('fk_beta_known_issues_program_id_beta_programs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['beta_reports.id'], name=op.f('fk_beta_known_issues_report_id_beta_reports'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_known_issues')),
    sa.UniqueConstraint('report_id', name=op.f('uq_beta_known_issues_report_id')),
    sa.UniqueConstraint('seed_key', name=op.f('uq_beta_known_issues_seed_key'))
    )
    with op.batch_alter_table('beta_known_issues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_known_issues_program_id'), ['program_id'], unique=False)

    op.create_table('beta_report_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_beta_report_comments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['beta_reports.id'], name=op.f('fk_beta_report_comments_report_id_beta_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_report_comments'))
    )
    with op.batch_alter_table('beta_report_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_report_comments_report_id'), ['report_id'], unique=False)

    op.create_table('beta_report_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('event', sa.String(length=16), nullable=False),
    sa.Column('from_state', sa.String(length=16), nullable=True),
    sa.Column('to_state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_beta_report_events_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['beta_reports.id'], name=op.f('fk_beta_report_events_report_id_beta_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_report_events'))
    )
    with op.batch_alter_table('beta_report_events', schema=None) as batch_op:
        batch_op.create_index('ix_beta_report_events_report_at', ['report_id', 'at'], unique=False)

    op.create_table('beta_report_supporters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['beta_reports.id'], name=op.f('fk_beta_report_supporters_report_id_beta_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_beta_report_supporters_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_report_supporters')),
    sa.UniqueConstraint('report_id', 'user_id', name=op.f('uq_beta_report_supporters_report_id_user_id'))
    )
    op.create_table('beta_survey_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('rating', 'single', 'multiple', 'text', name='beta_question_kind', native_enum=False, length=16), nullable=False),
    sa.Column('prompt', sa.String(length=300), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('scale_max', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['beta_surveys.id'], name=op.f('fk_beta_survey_questions_survey_id_beta_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_survey_questions'))
    )
    with op.batch_alter_table('beta_survey_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beta_survey_questions_survey_id'), ['survey_id'], unique=False)

    op.create_table('beta_survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['survey_id'], ['beta_surveys.id'], name=op.f('fk_beta_survey_responses_survey_id_beta_surveys'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_beta_survey_responses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_survey_responses')),
    sa.UniqueConstraint('survey_id', 'user_id', name=op.f('uq_beta_survey_responses_survey_id_user_id'))
    )
    op.create_table('beta_known_issue_builds',
    sa.Column('known_issue_id', sa.Integer(), nullable=False),
    sa.Column('build_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['build_id'], ['beta_builds.id'], name=op.f('fk_beta_known_issue_builds_build_id_beta_builds'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['known_issue_id'], ['beta_known_issues.id'], name=op.f('fk_beta_known_issue_builds_known_issue_id_beta_known_issues'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('known_issue_id', 'build_id', name=op.f('pk_beta_known_issue_builds'))
    )


def downgrade():
    op.drop_table('beta_known_issue_builds')
    op.drop_table('beta_survey_responses')
    with op.batch_alter_table('beta_survey_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_survey_questions_survey_id'))

    op.drop_table('beta_survey_questions')
    op.drop_table('beta_report_supporters')
    with op.batch_alter_table('beta_report_events', schema=None) as batch_op:
        batch_op.drop_index('ix_beta_report_events_report_at')

    op.drop_table('beta_report_events')
    with op.batch_alter_table('beta_report_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_report_comments_report_id'))

    op.drop_table('beta_report_comments')
    with op.batch_alter_table('beta_known_issues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_known_issues_program_id'))

    op.drop_table('beta_known_issues')
    with op.batch_alter_table('beta_attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_attachments_report_id'))

    op.drop_table('beta_attachments')
    with op.batch_alter_table('beta_surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_surveys_build_id'))

    op.drop_table('beta_surveys')
    with op.batch_alter_table('beta_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_reports_reporter_id'))
        batch_op.drop_index('ix_beta_reports_program_state')
        batch_op.drop_index('ix_beta_reports_build_state')

    op.drop_table('beta_reports')
    op.drop_table('beta_program_ideas')
    with op.batch_alter_table('beta_memberships', schema=None) as batch_op:
        batch_op.drop_index('ix_beta_memberships_user')

    op.drop_table('beta_memberships')
    with op.batch_alter_table('beta_builds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beta_builds_program_id'))

    op.drop_table('beta_builds')
    op.drop_table('beta_tester_environments')
    op.drop_table('beta_programs')
