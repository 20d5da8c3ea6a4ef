"""knowledge_index: chunking, embedding, FAISS + BM25 hybrid search over a database-backed index.

A standalone library (no Flask). Names below are imported lazily so `import knowledge_index`
stays cheap; the model itself loads on first use of get_embedder().
"""

from __future__ import annotations

import importlib
import os
from typing import Any

# One OpenMP thread per calling thread, set before FAISS (and its bundled libgomp and OpenMP OpenBLAS) or torch
# is loaded: searches are single queries made from many server threads at once, and OpenMP gives every
# thread that enters a parallel region a pool of its own (20 request threads searching: 20 more OpenMP
# threads, made and torn down with the request threads, beside a second OpenMP runtime in torch). Parallelism
# comes from the requests. Index builds ask for more threads for their own thread (store.build_threads);
# OMP_NUM_THREADS set in the environment wins.
os.environ.setdefault("OMP_NUM_THREADS", "1")

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
