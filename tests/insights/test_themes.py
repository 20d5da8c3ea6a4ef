"""Theme runs on stored vectors: topics found without k, labels, identity across runs, staff edits that survive."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from community.errors import Conflict, ValidationFailed
from community.extensions import db
from community.insights import duplicates, themes
from community.insights.jobs import start_theme_run
from community.models import ItemLink, JobRun, JobState, Theme, ThemeItem, Thread

from .conftest import TOPICS


def _topic_of_thread() -> dict[str, str]:
    return {str(t.id): t.external_id.split(":", 1)[1].rsplit("-", 1)[0] for t in db.session.scalars(select(Thread))}


def _themes_by_topic(run) -> dict[str, set[int]]:
    topic = _topic_of_thread()
    out: dict[str, set[int]] = {}
    for item in db.session.scalars(select(ThemeItem).where(ThemeItem.run_id == run.id, ThemeItem.source_type == "thread")):
        out.setdefault(topic[item.source_id], set()).add(item.theme_id)
    return out


def test_a_run_is_a_job_that_groups_each_topic_and_labels_it(themes_run, insight_site):
    run = themes_run
    assert run.n_items == sum(len(t) for t in TOPICS.values()) + 1 + 1 and run.sources == ["thread", "idea", "gap"]
    job = db.session.get(JobRun, run.job_id)
    assert job.state is JobState.done and job.result["themes"] == run.n_themes
    by_topic = _themes_by_topic(run)
    # The number of themes came from the data: no theme mixes two topics, and none is a single thread each.
    theme_sets = list(by_topic.values())
    assert all(a.isdisjoint(b) for n, a in enumerate(theme_sets) for b in theme_sets[n + 1:])
    assert 3 <= run.n_themes <= 9
    words = {w for t in run.themes for w in t.keywords}
    assert {"sync", "dark"} <= words
    for theme in run.themes:
        assert sum(theme.sentiment.values()) == pytest.approx(1.0, abs=0.01)
        assert theme.customer_count <= theme.size
    # The idea joins a dark-mode theme, the gap a billing theme.
    assert themes.theme_of("idea", insight_site["idea"].id).id in by_topic["dark_mode"]
    assert themes.theme_of("gap", insight_site["gap"].id).id in by_topic["billing"]


def test_cross_type_duplicates_are_suggested_once(themes_run, insight_site):
    pairs = duplicates.open_pairs()
    kinds = {frozenset((p.a.source_type, p.b.source_type)) for p in pairs}
    assert frozenset(("gap", "thread")) in kinds
    assert all(p.a.source_type != p.b.source_type or p.a.source_type == "idea" for p in pairs)
    before = db.session.scalar(select(db.func.count()).select_from(ItemLink))
    start_theme_run(insight_site["staff"])
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(ItemLink)) == before


def _thread_theme(run, topic: str, n: int) -> Theme:
    thread = db.session.scalar(select(Thread).where(Thread.external_id == f"test:{topic}-{n}"))
    return themes.theme_of("thread", thread.id, run)


def test_rerun_keeps_identity_names_merges_and_splits(themes_run, insight_site):
    staff = insight_site["staff"]
    billing = _thread_theme(themes_run, "billing", 0)
    sync = _thread_theme(themes_run, "sync", 0)
    themes.rename_theme(billing, "Payments", staff)
    themes.merge_themes(sync, billing, staff)
    merged = {(i.source_type, i.source_id) for i in themes.theme_items(billing)}
    dark = themes.theme_of("idea", insight_site["idea"].id)
    others = [i for i in themes.theme_items(dark) if i.source_type == "thread"]
    child = themes.split_theme(dark, [others[0].id], "Night writing", staff)
    db.session.commit()
    split_off = (others[0].source_type, others[0].source_id)

    start_theme_run(staff)
    db.session.commit()
    second = themes.latest_run()
    assert second.id != themes_run.id and second.previous_run_id == themes_run.id
    now = {t.identity: t for t in second.themes}
    assert now[billing.identity].name == "Payments" and now[child.identity].name == "Night writing"
    # The merge held: everything merged still shares the renamed theme; the split held too.
    assert {(i.source_type, i.source_id) for i in themes.theme_items(now[billing.identity])} >= merged
    assert split_off in {(i.source_type, i.source_id) for i in themes.theme_items(now[child.identity])}
    assert themes.theme_of("idea", insight_site["idea"].id, second).identity == dark.identity
    assert now[billing.identity].previous_size == len(merged)


def test_bad_requests_are_refused_with_the_field(insight_site):
    staff = insight_site["staff"]
    with pytest.raises(ValidationFailed) as error:
        themes.create_run(staff, ["thread", "tweets"], None)
    assert "sources" in error.value.fields
    with pytest.raises(ValidationFailed) as error:
        themes.create_run(staff, None, 0)
    assert "period_days" in error.value.fields
    with pytest.raises(ValidationFailed):
        themes.create_run(insight_site["customer"], None, None)
    themes.create_run(staff, None, 30)
    with pytest.raises(Conflict):
        themes.create_run(staff, None, None)


def test_a_period_leaves_older_items_out(insight_site):
    run = start_theme_run(insight_site["staff"], ["thread"], 5)
    db.session.commit()
    db.session.refresh(run)
    # Threads were posted 3, 10 and 17 days ago: only a third are inside five days.
    assert run.state == "done" and run.n_items == 6


def test_theme_names_are_checked(themes_run, insight_site):
    theme = themes_run.themes[0]
    with pytest.raises(ValidationFailed) as error:
        themes.rename_theme(theme, "x" * 200, insight_site["staff"])
    assert "name" in error.value.fields
    with pytest.raises(ValidationFailed):
        themes.split_theme(theme, [], "none", insight_site["staff"])
    with pytest.raises(ValidationFailed):
        themes.merge_themes(theme, theme, insight_site["staff"])


def test_cli_queues_a_run_and_names_a_bad_source(insight_site, runner):
    result = runner.invoke(args=["coknow", "insights", "run", "--source", "thread"])
    assert result.exit_code == 0 and "Theme run" in result.output
    assert themes.latest_run().sources == ["thread"]
    bad = runner.invoke(args=["coknow", "insights", "run", "--source", "tweets"])
    assert bad.exit_code != 0 and "tweets" in bad.output
