"""The ONNX export gives the same vectors and token counts as the PyTorch model it was built from."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from knowledge_index import onnx_model
from knowledge_index.embedder import Embedder

TEXTS = [
    "How do I reset my password?",
    "and on Android?",
    "",
    "Wie exportiere ich meine Notizen als PDF?",
    "如何导出我的笔记",
    "Sync stopped after the update!!! (v2.3.1) — anything I can do?? :-(",
    # Longer than the model's 256-token window: both must truncate the same way.
    " ".join(f"paragraph {i} explains how shared notebooks sync across devices and teams." for i in range(60)),
]


@pytest.fixture(scope="module")
def onnx_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The installed export (make install builds it), else one built here from the bundled weights."""
    if onnx_model.is_built():
        return onnx_model.default_dir()
    return onnx_model.build(tmp_path_factory.mktemp("onnx"))


@pytest.fixture(scope="module")
def both(onnx_dir: Path) -> tuple[Embedder, Embedder]:
    return Embedder(backend="torch"), Embedder(str(onnx_dir), backend="onnx")


def test_vectors_match_pytorch(both: tuple[Embedder, Embedder]) -> None:
    torch_e, onnx_e = both
    a, b = torch_e.encode(TEXTS), onnx_e.encode(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.9999, cosines
    assert np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    # A batch and one query at a time give the same vector (padding must not leak into the mean).
    single = np.stack([onnx_e.encode_query(t) for t in TEXTS])
    assert np.abs(single - b).max() < 1e-4


def test_token_counts_match(both: tuple[Embedder, Embedder]) -> None:
    torch_e, onnx_e = both
    for text in TEXTS:
        assert onnx_e.count_tokens(text) == torch_e.count_tokens(text)
    assert onnx_e.count_tokens(TEXTS[-1]) > onnx_model.MAX_LENGTH  # counting never truncates


def test_incomplete_export_is_not_used(tmp_path: Path, onnx_dir: Path) -> None:
    (tmp_path / onnx_model.MODEL_FILE).write_bytes(b"half a file")
    assert not onnx_model.is_built(tmp_path)
    with pytest.raises(FileNotFoundError, match="onnx_model build"):
        Embedder(str(tmp_path), backend="onnx")
    assert onnx_model.main(["check", "--dir", str(tmp_path)]) == 1
    assert onnx_model.main(["check", "--dir", str(onnx_dir)]) == 0


def test_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COKNOW_EMBEDDER", "gpu")
    with pytest.raises(ValueError, match="COKNOW_EMBEDDER"):
        Embedder()
