"""Customer rules, split by job: CRM import, segments, interests, timeline, contribution, privacy, the list.

Services validate and flush, never commit; the channels (views, API, CLI, jobs) commit.
"""
