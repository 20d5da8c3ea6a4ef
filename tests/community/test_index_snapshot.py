"""COKNOW_INDEX_MAP_SNAPSHOT: `flask coknow index-snapshot` builds the snapshot, a process maps it, keeps later
changes beside it, and switches by itself when a newer snapshot is written (issue 17)."""
from __future__ import annotations

import time

import pytest

from community import search
from community.extensions import db
from community.kb.services import create_article
from community.models import ArticleStatus
from knowledge_index.store import VectorStore, current_snapshot


def _snapshot(runner) -> None:
    result = runner.invoke(args=["coknow", "index-snapshot"])
    assert result.exit_code == 0, result.output
    assert "passages indexed into" in result.output


@pytest.mark.app_config(COKNOW_INDEX_MAP_SNAPSHOT=True, COKNOW_INDEX_SYNC_SECONDS=0)
def test_a_process_maps_the_snapshot_and_switches_to_a_newer_one(app, help_center, runner, monkeypatch):
    # A graph (the part that is mapped) is built from 50,000 passages on; a help center of five articles must do.
    monkeypatch.setitem(VectorStore.__init__.__kwdefaults__, "flat_threshold", 2)
    directory = app.config["COKNOW_INDEX_DIR"]
    _snapshot(runner)
    first = current_snapshot(directory)
    state = search._state(app)
    state.cache = None  # as a process started now
    cache = search.get_cache()
    assert cache.store.mapped and cache.snapshot == first and cache.store.side_size == 0
    assert search.search("how do I get my money back", 1, source_types=["article"])[0].title == help_center["refund-policy"].title

    create_article("Gift cards", "Gift cards never expire and can be topped up in the app.",
                   status=ArticleStatus.published, slug="gift-cards")
    db.session.commit()
    assert search.search("do gift cards expire", 1, source_types=["article"])[0].title == "Gift cards"
    assert search.get_cache() is cache and cache.store.side_size > 0  # beside the mapped graph
    assert search.freshness()["mapped_snapshot"] is True

    _snapshot(runner)
    newest = current_snapshot(directory)
    assert newest != first
    deadline = time.monotonic() + 60
    while search.get_cache().snapshot != newest and time.monotonic() < deadline:
        time.sleep(0.1)  # loaded in the background while requests keep the old one
    switched = search.get_cache()
    assert switched is not cache and switched.snapshot == newest
    assert switched.store.mapped and switched.store.side_size == 0  # the gift card is in the new graph now
    assert search.search("do gift cards expire", 1, source_types=["article"])[0].title == "Gift cards"
