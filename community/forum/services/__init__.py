"""Forum rules: who may see, write, edit, delete, accept, like, flag and moderate what.

Services validate, change rows and flush; the caller commits. Index updates go
into the same transaction; notifications and live events run after commit.

The rules live in one module per job; this package re-exports them, so callers write services.<name>.
"""
from __future__ import annotations

from community.forum.services.rules import (
    LINK_RE as LINK_RE,
    MAX_BODY as MAX_BODY,
    MAX_REASON as MAX_REASON,
    MAX_TITLE as MAX_TITLE,
    MIN_TITLE as MIN_TITLE,
    PER_PAGE as PER_PAGE,
    SLUG_RE as SLUG_RE,
    SORTS as SORTS,
    check_body as check_body,
    check_can_post as check_can_post,
    check_title as check_title,
    is_new_member as is_new_member,
    is_staff as is_staff,
    limit as limit,
    post_count as post_count,
    slugify as slugify,
    tag_rows as tag_rows,
    user_id_of as user_id_of,
)
from community.forum.services.visibility import (
    can_see_category as can_see_category,
    can_see_thread as can_see_thread,
    threads_visible_to as threads_visible_to,
    get_category_or_404 as get_category_or_404,
    get_reply_or_404 as get_reply_or_404,
    get_thread_or_404 as get_thread_or_404,
    visible_categories as visible_categories,
)
from community.forum.services.listing import (
    ThreadPage as ThreadPage,
    accepted_reply as accepted_reply,
    count_view as count_view,
    liked_ids as liked_ids,
    list_threads as list_threads,
    mark_read as mark_read,
    reply_page as reply_page,
    revisions as revisions,
    unread_ids as unread_ids,
    visible_replies as visible_replies,
)
from community.forum.services.search import (
    can_propose as can_propose,
    hits_with_threads as hits_with_threads,
    index_documents as index_documents,
    is_promoted as is_promoted,
    linked_gaps as linked_gaps,
    promoted_article as promoted_article,
    related_content as related_content,
    search_filters as search_filters,
    similar_threads as similar_threads,
    sync_index as sync_index,
)
from community.forum.services.writing import (
    accept_answer as accept_answer,
    create_thread as create_thread,
    delete_reply as delete_reply,
    delete_thread as delete_thread,
    edit_reply as edit_reply,
    edit_thread as edit_thread,
    ensure_category as ensure_category,
    post_reply as post_reply,
    recount_replies as recount_replies,
    reply_link as reply_link,
    save_category as save_category,
    thread_link as thread_link,
    toggle_like as toggle_like,
    unaccept_answer as unaccept_answer,
)
from community.forum.services.moderation import (
    THREAD_ACTIONS as THREAD_ACTIONS,
    find_post as find_post,
    flag_post as flag_post,
    moderate_thread as moderate_thread,
    open_flags as open_flags,
    resolve_flag as resolve_flag,
    set_reply_hidden as set_reply_hidden,
    thread_of as thread_of,
)
