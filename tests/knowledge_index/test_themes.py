"""Theme clustering: the Ward cut against scipy's, k found from the data, warm re-runs keep identity."""
import numpy as np
from scipy.cluster.hierarchy import fcluster, linkage
from sklearn.metrics import adjusted_rand_score

from knowledge_index import themes


def _blobs(k: int, per: int, spread: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = themes.normalize(rng.normal(size=(k, 32)))
    labels = np.repeat(np.arange(k), per)
    return themes.normalize(centres[labels] + rng.normal(scale=spread, size=(k * per, 32))), labels


def test_ward_cut_matches_scipy_ward_at_the_same_distance():
    x, _ = _blobs(6, 20, 0.3)
    ours = themes.ward_cut(x, np.ones(len(x)), 2.0)
    theirs = fcluster(linkage(x, method="ward"), t=2.0, criterion="distance")
    assert adjusted_rand_score(theirs, ours) == 1.0


def test_number_of_themes_comes_from_the_data():
    for k in (3, 9):
        x, truth = _blobs(k, 25, 0.15, seed=k)
        result = themes.cluster(x)
        assert result.k == k
        assert adjusted_rand_score(truth, result.labels) == 1.0
        assert np.allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
        # Largest theme first.
        sizes = np.bincount(result.labels)
        assert list(sizes) == sorted(sizes, reverse=True)


def test_large_inputs_go_through_micro_clusters_with_the_same_themes():
    x, truth = _blobs(5, 700, 0.15, seed=3)
    result = themes.cluster(x, max_nodes=500)
    assert result.k == 5
    assert adjusted_rand_score(truth, result.labels) > 0.99


def test_warm_rerun_keeps_previous_themes_and_reports_which_continues_which():
    x, truth = _blobs(4, 30, 0.2, seed=5)
    first = themes.cluster(x[:100])
    previous = np.full(len(x), -1)
    previous[:100] = first.labels
    second = themes.cluster(x, previous=previous)
    assert adjusted_rand_score(first.labels, second.labels[:100]) == 1.0
    mapping = themes.inherited(previous, second.labels)
    for new, old in mapping.items():
        assert set(np.flatnonzero(first.labels == old)) <= set(np.flatnonzero(second.labels == new))


def test_empty_and_single_inputs():
    assert themes.cluster(np.zeros((0, 8))).k == 0
    assert themes.cluster(np.ones((1, 8))).labels.tolist() == [0]


def test_previous_themes_stay_apart_on_a_rerun_even_when_close():
    # Staff split one blob in two: a re-run must not merge the halves back.
    x, _ = _blobs(2, 40, 0.1, seed=7)
    previous = np.repeat([0, 1, 2], [20, 20, 40])
    again = themes.cluster(x, previous=previous)
    assert again.k == 3
    # The untouched blob stays whole and alone; both halves of the split one live on.
    assert len(set(again.labels[40:])) == 1 and again.labels[40] not in set(again.labels[:40])
    assert len(set(again.labels[:40])) == 2


def test_chinese_theme_keywords_are_jieba_words_not_question_words():
    texts = ["如何把笔记导出为 Markdown？", "怎么导出笔记到 PDF", "导出笔记的时候图片丢了怎么办",
             "为什么手机同步很慢", "电脑和手机同步失败怎么办", "同步一直转圈是什么问题"]
    words = themes.keywords(texts, [0, 0, 0, 1, 1, 1], k=2, top=2)
    assert set(words[0]) == {"导出", "笔记"} and "同步" in words[1]
    assert not {"怎么", "如何", "为什么", "怎么办", "什么"} & set(words[0] + words[1])
