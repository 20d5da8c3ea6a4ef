"""Idea rules: submit, vote, follow, discuss, move through statuses, merge, ship and close the loop.

Services validate and flush, never commit. Counters on `ideas` change only by atomic SQL in the
same transaction as the row they count, after the idea's row is locked (see _lock_idea), so
parallel clicks on SQLite and PostgreSQL can neither lose nor double a vote.

The rules live in one module per job; this package re-exports them, so callers write services.<name>.
"""
from __future__ import annotations

from community.ideas.services.rules import (
    IdeaMerged as IdeaMerged,
    MAX_BODY as MAX_BODY,
    MAX_CATEGORY as MAX_CATEGORY,
    MAX_CHANGELOG_TITLE as MAX_CHANGELOG_TITLE,
    MAX_COMMENT as MAX_COMMENT,
    MAX_NOTE as MAX_NOTE,
    MAX_REASON as MAX_REASON,
    MAX_TITLE as MAX_TITLE,
    MIN_TITLE as MIN_TITLE,
    REVIEW_THRESHOLD as REVIEW_THRESHOLD,
    SORTS as SORTS,
    STATUS_ORDER as STATUS_ORDER,
    TRENDING_DAYS as TRENDING_DAYS,
    VotingClosed as VotingClosed,
    check_idea as check_idea,
    check_posting_rate as check_posting_rate,
    get_idea_or_404 as get_idea_or_404,
    idea_url as idea_url,
    parse_status as parse_status,
    status_label as status_label,
)
from community.ideas.services.voting import (
    VoteState as VoteState,
    idea_summary as idea_summary,
    vote_state as vote_state,
    audience as audience,
    cast_vote as cast_vote,
    follow_idea as follow_idea,
    has_voted as has_voted,
    is_following as is_following,
    record_vote_for as record_vote_for,
    retract_vote as retract_vote,
    unfollow_idea as unfollow_idea,
    voter_weight as voter_weight,
    voters as voters,
)
from community.ideas.services.comments import (
    add_comment as add_comment,
    audience_followers as audience_followers,
    comments as comments,
    delete_comment as delete_comment,
    edit_comment as edit_comment,
)
from community.ideas.services.lifecycle import (
    change_status as change_status,
    changelog_entries as changelog_entries,
    edit_idea as edit_idea,
    flag_content_for_review as flag_content_for_review,
    merge_ideas as merge_ideas,
    open_reviews as open_reviews,
    publish_changelog as publish_changelog,
    resolve_merged as resolve_merged,
    resolve_review as resolve_review,
    submit_idea as submit_idea,
    timeline as timeline,
)
from community.ideas.services.board import (
    categories as categories,
    duplicate_pairs as duplicate_pairs,
    list_ideas as list_ideas,
    roadmap as roadmap,
    similar_ideas as similar_ideas,
    trending_scores as trending_scores,
)
from community.ideas.services.demand import (
    DEMAND_SOURCES as DEMAND_SOURCES,
    DemandSource as DemandSource,
    Value as Value,
    demand as demand,
    idea_value as idea_value,
    idea_values as idea_values,
    priorities as priorities,
    register_demand_source as register_demand_source,
    requester_users as requester_users,
    requesters as requesters,
)
