"""knowledge_index: chunking, embedding, FAISS + BM25 hybrid search over a database-backed index.

A standalone library (no Flask). Names below are imported lazily so `import knowledge_index`
stays cheap; the model itself loads on first use of get_embedder().
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Embedder": "embedder",
    "ModelMismatchError": "embedder",
    "get_embedder": "embedder",
    "Passage": "chunking",
    "chunk_document": "chunking",
    "article_passages": "chunking",
    "VectorStore": "store",
    "LexicalIndex": "lexical",
    "tokenize": "lexical",
    "Fusion": "search",
    "DEFAULT_FUSION": "search",
    "Hit": "search",
    "define_entries_table": "sync",
    "upsert_source": "sync",
    "remove_source": "sync",
    "reindex_all": "sync",
    "IndexCache": "sync",
    "ImportedDocument": "importers",
    "Rejected": "importers",
    "read_path": "importers",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'knowledge_index' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
