"""FAISS vector store keyed by int64 ids: exact when small, HNSW over SQ8 plus a flat side index when large.

A saved store can be loaded with its HNSW-SQ8 index memory-mapped (`load(..., mmap=True)`): FAISS maps the
codes and the graph's links straight from the file (IO_FLAG_MMAP_IFC), so every process that maps the same
snapshot file shares one copy in the OS page cache. Such a main index is read-only: new and changed rows go
to the private flat side index, deletions are tombstones, and merging waits for the next snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

# faiss's generated SWIG stubs miss its Python conveniences (numpy id arrays, keyword search
# parameters, SearchParametersHNSW): the few ignores below mark those calls.
import faiss
import numpy as np

from knowledge_index import native

# Below this many vectors exact inner-product search is fast enough (≈ 2 ms per 10k on 2 cores).
FLAT_THRESHOLD = 50_000
# Recent writes live in the deletable flat index until it grows past this, then merge into HNSW.
MERGE_THRESHOLD = 20_000
# HNSW cannot remove: deletions are tombstones until they pass this share of the graph.
TOMBSTONE_REBUILD_RATIO = 0.2
HNSW_M = 32
EF_CONSTRUCTION = 80
EF_SEARCH = 128
# Measured (bench/RESULTS.md): at 1M, efConstruction 80, efSearch 128 gives recall@10 0.907 and
# 512 gives 0.958 for 1.2 ms; the graph needs a wider beam as it grows.
EF_SEARCH_LARGE = 512
LARGE = 500_000


@contextmanager
def build_threads() -> Iterator[None]:
    """All cores for an index build or merge, in this thread only (OpenMP's thread count is per thread;
    searches elsewhere keep one, see knowledge_index/__init__.py)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _ids(ids: np.ndarray | list[int]) -> np.ndarray:
    return np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1))


def _vecs(vectors: np.ndarray, dim: int) -> np.ndarray:
    arr = np.ascontiguousarray(np.asarray(vectors, dtype=np.float32))
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.shape[1] != dim:
        raise ValueError(f"vectors have dimension {arr.shape[1]}, store has {dim}")
    return arr


def _search(index: faiss.Index, q: np.ndarray, k: int,
            params: faiss.SearchParameters | None) -> tuple[np.ndarray, np.ndarray]:
    """index.search, off the event loop when a server installed a runner (knowledge_index.native)."""
    found: tuple[np.ndarray, np.ndarray] = native.run(lambda: index.search(q, k, params=params))
    return found


def _write_index(index: faiss.Index, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, path)


class VectorStore:
    """Inner-product vector store with add/replace/remove by id and atomic save/load."""

    def __init__(
        self,
        dim: int,
        *,
        flat_threshold: int = FLAT_THRESHOLD,
        merge_threshold: int = MERGE_THRESHOLD,
        hnsw_m: int = HNSW_M,
        ef_search: int = EF_SEARCH,
    ) -> None:
        self.dim = dim
        self.flat_threshold = flat_threshold
        self.merge_threshold = merge_threshold
        self.hnsw_m = hnsw_m
        self.ef_search = ef_search
        self._flat = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        self._flat_ids: set[int] = set()
        self._main: faiss.IndexIDMap2 | None = None
        self._main_ids = np.zeros(0, dtype=np.int64)  # sorted ids ever added to main
        self._dead: set[int] = set()  # tombstoned ids in main
        self._dead_sel: faiss.IDSelector | None = None
        self._dead_arr: np.ndarray | None = None
        self._mapped = False  # main index mapped read-only from a snapshot file

    def empty_like(self) -> VectorStore:
        """A new empty store with the same settings."""
        return VectorStore(
            self.dim,
            flat_threshold=self.flat_threshold,
            merge_threshold=self.merge_threshold,
            hnsw_m=self.hnsw_m,
            ef_search=self.ef_search,
        )

    # ------------------------------------------------------------ bookkeeping
    def _in_main(self, ids: np.ndarray) -> np.ndarray:
        if not len(self._main_ids):
            return np.zeros(len(ids), dtype=bool)
        pos = np.searchsorted(self._main_ids, ids)
        pos = np.minimum(pos, len(self._main_ids) - 1)
        found: np.ndarray = self._main_ids[pos] == ids
        return found

    def __len__(self) -> int:
        main = 0 if self._main is None else self._main.ntotal - len(self._dead)
        return main + len(self._flat_ids)

    def __contains__(self, entry_id: int) -> bool:
        if entry_id in self._flat_ids:
            return True
        return entry_id not in self._dead and bool(self._in_main(_ids([entry_id]))[0])

    @property
    def kind(self) -> str:
        """"flat" or "hnsw_sq8" (the latter with a flat side index for recent writes)."""
        return "flat" if self._main is None else "hnsw_sq8"

    @property
    def mapped(self) -> bool:
        """True when the main index is mapped read-only from a snapshot file (shared between processes)."""
        return self._mapped

    @property
    def side_size(self) -> int:
        """Entries in the flat side index (recent writes; with a mapped main index, everything since the snapshot)."""
        return int(self._flat.ntotal)

    @property
    def tombstones(self) -> int:
        """Deleted ids still present in the HNSW graph."""
        return len(self._dead)

    def memory_bytes(self) -> int:
        """Approximate bytes held by the FAISS indexes (a mapped main index counts: its pages are shared)."""
        total = self._flat.ntotal * (self.dim * 4 + 8)
        if self._main is not None:
            base = faiss.downcast_index(self._main.index)
            per = self.dim + 8 + 4 * 2 * self.hnsw_m + 16  # SQ8 code, id, level-0 links, rev map
            total += base.ntotal * per
        return total

    # ------------------------------------------------------------ writes
    def add(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Add vectors under ids, replacing any vector already stored under the same id."""
        ids_arr = _ids(ids)
        vecs = _vecs(vectors, self.dim)
        if len(ids_arr) != len(vecs):
            raise ValueError("ids and vectors differ in length")
        if len(np.unique(ids_arr)) != len(ids_arr):
            raise ValueError("duplicate ids in one add")
        self.remove(ids_arr)
        self._flat.add_with_ids(vecs, ids_arr)
        self._flat_ids.update(ids_arr.tolist())

    def remove(self, ids: np.ndarray | list[int]) -> int:
        """Remove ids (unknown ids are ignored); returns how many were present."""
        ids_arr = _ids(ids)
        if not len(ids_arr):
            return 0
        in_flat = [i for i in ids_arr.tolist() if i in self._flat_ids]
        if in_flat:
            self._flat.remove_ids(_ids(in_flat))  # type: ignore[arg-type]
            self._flat_ids.difference_update(in_flat)
        in_main = ids_arr[self._in_main(ids_arr)].tolist()
        newly_dead = [i for i in in_main if i not in self._dead]
        if newly_dead:
            self._dead.update(newly_dead)
            self._dead_sel = None
        return len(in_flat) + len(newly_dead)

    def build(self, ids: np.ndarray | list[int], vectors: np.ndarray) -> None:
        """Replace the whole content; picks exact flat or HNSW-SQ8 by size."""
        ids_arr = _ids(ids)
        vecs = _vecs(vectors, self.dim) if len(ids_arr) else np.zeros((0, self.dim), np.float32)
        self._flat = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        self._flat_ids = set()
        self._main = None
        self._mapped = False
        self._main_ids = np.zeros(0, dtype=np.int64)
        self._dead = set()
        self._dead_sel = None
        if len(ids_arr) < self.flat_threshold:
            if len(ids_arr):
                self._flat.add_with_ids(vecs, ids_arr)
                self._flat_ids.update(ids_arr.tolist())
            return
        base = faiss.IndexHNSWSQ(self.dim, faiss.ScalarQuantizer.QT_8bit, self.hnsw_m, faiss.METRIC_INNER_PRODUCT)  # type: ignore[arg-type]
        base.hnsw.efConstruction = EF_CONSTRUCTION
        rng = np.random.default_rng(0)
        sample = vecs if len(vecs) <= 200_000 else vecs[rng.choice(len(vecs), 200_000, replace=False)]
        main = faiss.IndexIDMap2(base)
        with build_threads():
            base.train(sample)
            main.add_with_ids(vecs, ids_arr)
        self._main = main
        self._main_ids = np.sort(ids_arr)

    def live_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every live entry; HNSW-SQ8 vectors come back dequantized."""
        parts_i, parts_v = [], []
        if self._flat.ntotal:
            fi = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
            parts_i.append(fi)
            parts_v.append(self._flat.reconstruct_batch(fi))
        if self._main is not None:
            mi = faiss.vector_to_array(self._main.id_map).astype(np.int64)
            if self._dead:
                mi = mi[~np.isin(mi, np.fromiter(self._dead, np.int64))]
            mi = mi[~np.isin(mi, np.fromiter(self._flat_ids, np.int64, len(self._flat_ids)))]
            parts_i.append(mi)
            parts_v.append(self._main.reconstruct_batch(mi))
        if not parts_i:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(parts_i), np.concatenate(parts_v)

    def maintain(self) -> str | None:
        """Merge or rebuild when the side index or tombstones grew; returns what it did."""
        if self._mapped:
            # The mapped index is shared and read-only, and a private rebuild would undo the sharing (and cost
            # every process the build): the side index and tombstones grow until the next snapshot is loaded.
            return None
        if self._main is None:
            if self._flat.ntotal >= self.flat_threshold:
                self.build(*self.live_vectors())
                return "built"
            return None
        if len(self._dead) > TOMBSTONE_REBUILD_RATIO * max(self._main.ntotal, 1):
            self.build(*self.live_vectors())
            return "rebuilt"
        if self._flat.ntotal >= self.merge_threshold:
            fi = faiss.vector_to_array(self._flat.id_map).astype(np.int64)
            fv = self._flat.reconstruct_batch(fi)
            # An id with a tombstoned copy in the graph cannot be re-added there (same id twice):
            # it stays in the flat index until the next full rebuild.
            fresh = ~self._in_main(fi)
            if fresh.any():
                with build_threads():
                    self._main.add_with_ids(fv[fresh], fi[fresh])
                self._main_ids = np.sort(np.concatenate([self._main_ids, fi[fresh]]))
                self._flat.remove_ids(fi[fresh])
                self._flat_ids.difference_update(fi[fresh].tolist())
                return "merged"
        return None

    # ------------------------------------------------------------ reads
    def _dead_selector(self) -> faiss.IDSelector | None:
        if not self._dead:
            return None
        if self._dead_sel is None:
            self._dead_arr = np.fromiter(self._dead, np.int64, len(self._dead))
            self._dead_sel = faiss.IDSelectorNot(faiss.IDSelectorBatch(self._dead_arr))
        return self._dead_sel

    def search(
        self, queries: np.ndarray, k: int, allowed: np.ndarray | None = None, ef_search: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row; ids -1 pad short results; allowed restricts ids."""
        q = _vecs(queries, self.dim)
        n = len(q)
        k = max(1, k)
        keep: list[object] = []  # selectors must outlive the C++ call
        allowed_sel = None
        n_allowed = 0
        if allowed is not None:
            allowed_arr = _ids(allowed)
            n_allowed = len(allowed_arr)
            keep.append(allowed_arr)
            allowed_sel = faiss.IDSelectorBatch(allowed_arr)
            keep.append(allowed_sel)
        results_d, results_i = [], []
        if self._flat.ntotal:
            params = faiss.SearchParameters(sel=allowed_sel) if allowed_sel is not None else None  # type: ignore[call-arg]
            d, i = _search(self._flat, q, min(k, self._flat.ntotal), params)
            results_d.append(d)
            results_i.append(i)
        if self._main is not None and self._main.ntotal:
            sel = self._dead_selector()
            if sel is not None and allowed_sel is not None:
                sel = faiss.IDSelectorAnd(sel, allowed_sel)
                keep.append(sel)
            elif sel is None:
                sel = allowed_sel
            base_ef = self.ef_search if self._main.ntotal < LARGE else max(self.ef_search, EF_SEARCH_LARGE)
            ef = max(ef_search or base_ef, k)
            if allowed is not None:
                # A restrictive filter leaves few reachable neighbours; widen the beam to keep recall.
                frac = max(n_allowed / max(self._main.ntotal, 1), 1e-3)
                ef = int(min(max(ef, ef / frac), 4096))
            params = faiss.SearchParametersHNSW(sel=sel, efSearch=ef) if sel is not None else faiss.SearchParametersHNSW(efSearch=ef)  # type: ignore[attr-defined]
            # Ids re-added after a tombstone live in the flat index; their graph copy stays dead.
            d, i = _search(self._main, q, k, params)
            results_d.append(d)
            results_i.append(i)
        if not results_d:
            return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1, np.int64)
        d = np.concatenate(results_d, axis=1)
        i = np.concatenate(results_i, axis=1)
        d = np.where(i < 0, -np.inf, d)
        order = np.argsort(-d, axis=1, kind="stable")[:, :k]
        d = np.take_along_axis(d, order, 1)
        i = np.take_along_axis(i, order, 1)
        if d.shape[1] < k:
            pad = k - d.shape[1]
            d = np.pad(d, ((0, 0), (0, pad)), constant_values=-np.inf)
            i = np.pad(i, ((0, 0), (0, pad)), constant_values=-1)
        return d.astype(np.float32), i.astype(np.int64)

    def vectors(self, ids: np.ndarray | list[int]) -> np.ndarray:
        """Stored vectors of ids (zeros for unknown ids); dequantized when in HNSW-SQ8."""
        ids_arr = _ids(ids)
        out = np.zeros((len(ids_arr), self.dim), np.float32)
        for n, i in enumerate(ids_arr.tolist()):
            if i in self._flat_ids:
                out[n] = self._flat.reconstruct(i)
            elif self._main is not None and i not in self._dead and self._in_main(_ids([i]))[0]:
                out[n] = self._main.reconstruct(i)
        return out

    # ------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        """Write the store into directory (files replaced atomically one by one)."""
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        _write_index(self._flat, d / "flat.faiss")
        if self._main is not None:
            _write_index(self._main, d / "main.faiss")
        elif (d / "main.faiss").exists():
            (d / "main.faiss").unlink()
        dead = np.fromiter(self._dead, np.int64, len(self._dead))
        tmp = d / "dead.npy.tmp"
        with open(tmp, "wb") as f:
            np.save(f, dead, allow_pickle=False)
        os.replace(tmp, d / "dead.npy")
        state = {
            "dim": self.dim,
            "flat_threshold": self.flat_threshold,
            "merge_threshold": self.merge_threshold,
            "hnsw_m": self.hnsw_m,
            "ef_search": self.ef_search,
            "has_main": self._main is not None,
        }
        tmp = d / "store.json.tmp"
        tmp.write_text(json.dumps(state))
        os.replace(tmp, d / "store.json")

    @classmethod
    def load(cls, directory: str | os.PathLike[str], *, mmap: bool = False) -> VectorStore:
        """Read a store written by save: into memory, or with mmap=True its main index mapped read-only.

        A mapped file must never be rewritten in place (a process reading a truncated mapping dies of SIGBUS):
        save() writes new files and renames them, and snapshots are new directories.
        """
        d = Path(directory)
        state = json.loads((d / "store.json").read_text())
        store = cls(
            state["dim"],
            flat_threshold=state["flat_threshold"],
            merge_threshold=state["merge_threshold"],
            hnsw_m=state["hnsw_m"],
            ef_search=state["ef_search"],
        )
        store._flat = faiss.read_index(str(d / "flat.faiss"))  # type: ignore[assignment]
        store._flat_ids = set(faiss.vector_to_array(store._flat.id_map).tolist())
        if state["has_main"]:
            flags = faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY if mmap else 0
            store._main = faiss.read_index(str(d / "main.faiss"), flags)  # type: ignore[assignment]
            store._mapped = mmap
            store._main_ids = np.sort(faiss.vector_to_array(store._main.id_map).astype(np.int64))  # type: ignore[union-attr]
        store._dead = set(np.load(d / "dead.npy", allow_pickle=False).tolist())
        return store


SNAPSHOT_GRACE_SECONDS = 600


def write_snapshot(root: str | os.PathLike[str], fill: object) -> Path:
    """Create a new snapshot directory under root via fill(path), then switch CURRENT to it atomically."""
    root_p = Path(root)
    root_p.mkdir(parents=True, exist_ok=True)
    snap = root_p / f"snap-{uuid.uuid4().hex[:12]}"
    snap.mkdir()
    try:
        fill(snap)  # type: ignore[operator]
        # A pointer file per writer: several worker processes may save into one directory.
        tmp = root_p / f"CURRENT.{snap.name}.tmp"
        tmp.write_text(snap.name)
        os.replace(tmp, root_p / "CURRENT")
    except BaseException:
        shutil.rmtree(snap, ignore_errors=True)
        raise
    # Another process may still be writing or reading an older snapshot: only remove ones
    # that have not been touched for a while.
    cutoff = time.time() - SNAPSHOT_GRACE_SECONDS
    for old in root_p.glob("snap-*"):
        if old != snap and old.stat().st_mtime < cutoff:
            shutil.rmtree(old, ignore_errors=True)
    return snap


def current_snapshot(root: str | os.PathLike[str]) -> Path | None:
    """The snapshot directory CURRENT points to, or None when nothing was saved."""
    pointer = Path(root) / "CURRENT"
    if not pointer.exists():
        return None
    snap = Path(root) / pointer.read_text().strip()
    return snap if snap.is_dir() else None
