"""Queries asked at the same time share forward passes; each caller gets its own vector, or the pass's error."""
from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from knowledge_index.embedder import QueryBatcher


def _wait_until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _ask_all(batcher: QueryBatcher, texts: list[str]) -> tuple[dict[str, object], list[threading.Thread]]:
    results: dict[str, object] = {}

    def ask(text: str) -> None:
        try:
            results[text] = batcher.encode(text)
        except Exception as error:  # noqa: BLE001  (the test reads what each caller got)
            results[text] = error

    threads = [threading.Thread(target=ask, args=(t,)) for t in texts]
    for thread in threads:
        thread.start()
    return results, threads


def test_callers_that_arrive_during_a_pass_share_the_next_one():
    gate = threading.Event()
    batches: list[list[str]] = []

    def encode_many(texts: list[str]) -> np.ndarray:
        batches.append(list(texts))
        if len(batches) == 1:
            gate.wait(10)  # the first pass runs while the others arrive
        return np.array([[float(len(t)), float(ord(t[0]))] for t in texts], np.float32)

    batcher = QueryBatcher(encode_many, limit=4)
    first, first_threads = _ask_all(batcher, ["a"])
    _wait_until(lambda: len(batches) == 1)
    texts = ["bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg"]
    results, threads = _ask_all(batcher, texts)
    _wait_until(lambda: len(batcher._queue) == len(texts))
    gate.set()
    for thread in first_threads + threads:
        thread.join(10)
    # One pass alone, then the six waiting callers in passes of at most four, oldest first.
    assert [len(b) for b in batches] == [1, 4, 2]
    assert sorted(sum(batches[1:], [])) == sorted(texts)
    for text in texts:
        assert np.array_equal(results[text], [len(text), ord(text[0])])
    assert np.array_equal(first["a"], [1, ord("a")])
    assert (batcher.passes, batcher.queries) == (3, 7)
    assert not batcher._running and not batcher._queue


def test_a_failed_pass_fails_its_callers_and_the_next_pass_still_runs():
    gate = threading.Event()
    calls = []

    def encode_many(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        if len(calls) == 1:
            gate.wait(10)
            return np.zeros((len(texts), 2), np.float32)
        if len(calls) == 2:
            raise RuntimeError("the model failed")
        return np.ones((len(texts), 2), np.float32)

    batcher = QueryBatcher(encode_many)
    _, first_threads = _ask_all(batcher, ["first"])
    _wait_until(lambda: len(calls) == 1)
    results, threads = _ask_all(batcher, ["x", "y"])
    _wait_until(lambda: len(batcher._queue) == 2)
    gate.set()
    for thread in first_threads + threads:
        thread.join(10)
    assert all(isinstance(results[t], RuntimeError) for t in ("x", "y"))
    assert np.array_equal(batcher.encode("z"), [1, 1])  # nobody is left waiting, the batcher is usable


@pytest.mark.timeout(120)
def test_concurrent_queries_get_the_vectors_they_would_get_alone(embedder):
    """Padding a short query to a longer one's length in a shared pass must not change its vector."""
    texts = ["how do I reset my password", "can I get a refund", "export notes to PDF", "install on Android",
             "dark mode", "sync between devices", "delete my account", "change the e-mail address"]
    alone = embedder.encode(texts, progress=False)
    results, threads = _ask_all(embedder._queries, texts)
    for thread in threads:
        thread.join(60)
    for text, vector in zip(texts, alone, strict=True):
        assert np.allclose(results[text], vector, atol=1e-5)
