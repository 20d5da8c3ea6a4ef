"""What a chat message is: a question, a feature request, a bug report, or other (praise, complaint, chit-chat).

Recognised by meaning and wording together: a linear support-vector classifier over the all-MiniLM-L6-v2
sentence vector the answer engine already computed for the message (so classifying costs no second
encode) beside word (1-2) and character (2-5) n-gram TF-IDF of its text, classes balanced. It is trained on
`bot/data/message_kinds.jsonl`, which ships with the project (messages written for it, plus CC BY 3.0
CLINC150 questions; see `bot/data/README.md`), at install time (`python -m bot.kinds build`, run by
`make install`) into the Python environment, next to the ONNX export of the model. A process that finds no
built classifier trains one on first use (about ten seconds) and keeps it for the next process.

Why: a feature request and a bug report are often said in a few words the sentence vector blurs with
praise ("would be nice if", "doesn't load", "please add", "since the update"); the n-grams see them, the
vector carries the meaning of the rest. Against the RBF kernel on the vector alone (bench/RESULTS.md,
"Session 5: message kinds"): on the development reviews by 5-fold CV macro-F1 0.845 -> 0.859, with
near-duplicate reviews kept in one fold 0.804 -> 0.824, and the shipped classifier on those reviews it
never saw 0.677 -> 0.696, every kind's F1 up. Classifying is two n-gram lookups and three small dot
products: a few tenths of a millisecond.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import pickle
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

QUESTION = "question"
FEATURE_REQUEST = "feature_request"
BUG_REPORT = "bug_report"
OTHER = "other"
KINDS = (QUESTION, FEATURE_REQUEST, BUG_REPORT, OTHER)
DATA_FILE = Path(__file__).with_name("data") / "message_kinds.jsonl"
# Bumped when the training method changes, so a built classifier of the old method is not reused.
METHOD = "tfidf-linsvc-v1"
SVC_C = 0.5
# The sentence vector's scale beside the two TF-IDF blocks (each of unit length, as the vector is). Cross-
# validation on the development reviews prefers 0.5 (macro-F1 0.867 against 0.859), the shipped classifier
# on those reviews it never saw prefers more (0.681 at 0.5, 0.696 at 1.0, 0.704 at 1.5, with question
# recall falling below the RBF kernel's under 1.0): equal weight is the choice that holds on both.
VECTOR_WEIGHT = 1.0


class KindDataError(ValueError):
    """A labelled-messages file has a line that is not {"text": str, "kind": one of KINDS}."""


def load_messages(path: str | Path) -> tuple[list[str], list[str]]:
    """Texts and kinds from a JSONL file of {"text", "kind"} lines; a bad line raises naming its number."""
    path = Path(path)
    texts: list[str] = []
    kinds: list[str] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise KindDataError(f"{path}:{n}: bad JSON ({exc.msg})") from None
        if not isinstance(obj, dict) or not isinstance(obj.get("text"), str) or not obj["text"].strip():
            raise KindDataError(f'{path}:{n}: expected {{"text": non-empty string, "kind": ...}}')
        if obj.get("kind") not in KINDS:
            raise KindDataError(f"{path}:{n}: kind must be one of {', '.join(KINDS)}, not {obj.get('kind')!r}")
        texts.append(obj["text"])
        kinds.append(obj["kind"])
    if not texts:
        raise KindDataError(f"{path}: no messages")
    return texts, kinds


class KindHead:
    """TF-IDF of words and characters plus the weighted sentence vector, into one linear decision per kind."""

    def __init__(self, words, chars, coef: np.ndarray, intercept: np.ndarray, classes: np.ndarray) -> None:
        self.words, self.chars = words, chars
        n_words, n_chars = len(words.vocabulary_), len(chars.vocabulary_)
        # The fitted weights split by block, so a message is scored without stacking its features.
        coef = np.asarray(coef, np.float64)
        self.w_words = np.ascontiguousarray(coef[:, :n_words].T)
        self.w_chars = np.ascontiguousarray(coef[:, n_words:n_words + n_chars].T)
        self.w_vector = np.ascontiguousarray(coef[:, n_words + n_chars:].T * VECTOR_WEIGHT, dtype=np.float32)
        self.intercept = np.asarray(intercept, np.float64)
        self.classes = np.asarray(classes)
        self._analyzers: tuple | None = None

    def decision(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """One score per kind and message (higher: more that kind)."""
        vectors = np.asarray(vectors, np.float32).reshape(len(texts), -1)
        out = vectors.astype(np.float64) @ self.w_vector + self.intercept
        if self._analyzers is None:
            self._analyzers = (self.words.build_analyzer(), self.chars.build_analyzer())
        blocks = tuple(zip((self.words, self.chars), self._analyzers, (self.w_words, self.w_chars), strict=True))
        for row, text in enumerate(texts):
            for vectorizer, analyzer, weights in blocks:
                out[row] += _tfidf_dot(vectorizer, analyzer, text, weights)
        return out

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_analyzers": None}  # closures do not pickle; built again on first use

    def predict(self, texts: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """The kind of each message."""
        if not len(texts):
            return np.zeros(0, dtype=self.classes.dtype)
        return self.classes[self.decision(texts, vectors).argmax(axis=1)]


def _tfidf_dot(vectorizer, analyzer, text: str, weights: np.ndarray) -> np.ndarray:
    """vectorizer.transform([text]) @ weights without building a sparse matrix: the same sublinear TF,
    IDF and L2 norm (TfidfVectorizer's), at a small fraction of the cost for one short message."""
    vocabulary = vectorizer.vocabulary_
    counts: dict[int, int] = {}
    for term in analyzer(text):
        j = vocabulary.get(term)
        if j is not None:
            counts[j] = counts.get(j, 0) + 1
    if not counts:
        return np.zeros(weights.shape[1])
    idx = np.fromiter(counts, np.int64, len(counts))
    tf = np.fromiter(counts.values(), np.float64, len(counts))
    values = (1.0 + np.log(tf)) * vectorizer.idf_[idx]
    return (values / np.linalg.norm(values)) @ weights[idx]


def fit_head(texts: Sequence[str], vectors: np.ndarray, kinds: Sequence[str]) -> KindHead:
    """The classification method on texts and their sentence vectors (also what cross-validation measures)."""
    from scipy.sparse import csr_matrix, hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    texts = list(texts)
    words = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    features = hstack([words.fit_transform(texts), chars.fit_transform(texts),
                       csr_matrix(np.asarray(vectors, np.float32) * VECTOR_WEIGHT)]).tocsr()
    svc = LinearSVC(C=SVC_C, class_weight="balanced").fit(features, np.asarray(kinds))
    for vectorizer in (words, chars):
        vectorizer.stop_words_ = None  # the terms min_df dropped: only for inspection, and the bulk of a pickle
    coef, intercept = svc.coef_, svc.intercept_
    if len(svc.classes_) == 2:  # a binary LinearSVC keeps one row: the second class's side
        coef, intercept = np.vstack([-coef, coef]), np.r_[-intercept, intercept]
    return KindHead(words, chars, coef, intercept, svc.classes_)


class KindClassifier:
    """A fitted head that turns a message (its text and sentence vector) into one of KINDS."""

    def __init__(self, head: KindHead) -> None:
        self.head = head

    @classmethod
    def train(cls, texts: Sequence[str], kinds: Sequence[str]) -> KindClassifier:
        """Encode the texts with the shared model and fit the head on them."""
        from knowledge_index.embedder import get_embedder

        return cls(fit_head(texts, get_embedder().encode(list(texts)), kinds))

    def classify_many(self, texts: Sequence[str], vectors: np.ndarray) -> list[str]:
        """The kind of each message (its text and L2-normalised sentence vector)."""
        return [str(k) for k in self.head.predict(list(texts), vectors)]

    def classify_one(self, text: str, vector: np.ndarray) -> str:
        """The kind of one message from its text and sentence vector."""
        return self.classify_many([text], np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]

    def save(self, path: Path) -> None:
        """Write atomically: a concurrent reader sees the old file or the new one, never half of one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_bytes(pickle.dumps(self.head, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> KindClassifier:
        """A classifier written by save() (only ever our own file in our own environment)."""
        return cls(pickle.loads(path.read_bytes()))  # noqa: S301 -- written by build() into our own environment


def default_dir() -> Path:
    """Where built classifiers live: COKNOW_KINDS_DIR, else inside the Python environment (like the ONNX export)."""
    env = os.environ.get("COKNOW_KINDS_DIR")
    return Path(env) if env else Path(sys.prefix) / "share" / "coknow" / "message-kinds"


def model_path(data: Path = DATA_FILE, directory: Path | None = None) -> Path:
    """The file for this training data, method, embedding model and scikit-learn version (any change retrains)."""
    import sklearn

    from knowledge_index.embedder import MODEL_NAME

    digest = hashlib.sha256(data.read_bytes())
    digest.update(f"|{METHOD}|{SVC_C}|{VECTOR_WEIGHT}|{MODEL_NAME}|{sklearn.__version__}".encode())
    return (directory or default_dir()) / f"message-kinds-{digest.hexdigest()[:16]}.pkl"


def build(data: Path = DATA_FILE, directory: Path | None = None, force: bool = False) -> Path:
    """Train the shipped classifier and write it where classifier() looks; a no-op when it is built."""
    path = model_path(data, directory)
    if path.exists() and not force:
        return path
    KindClassifier.train(*load_messages(data)).save(path)
    return path


_instance: KindClassifier | None = None
_lock = threading.Lock()


def classifier() -> KindClassifier:
    """The process-wide classifier: the built one, else trained now on the shipped data (and kept on disk)."""
    global _instance
    if _instance is None:
        with _lock:
            if _instance is None:
                path = model_path()
                if path.exists():
                    try:
                        _instance = KindClassifier.load(path)
                    except Exception:  # a file of another build (renamed class, foreign pickle): train anew
                        log.warning("message-kind classifier %s unusable; training it now", path, exc_info=True)
                if _instance is None:
                    log.info("message-kind classifier not built (python -m bot.kinds build); training it now")
                    _instance = KindClassifier.train(*load_messages(DATA_FILE))
                    try:
                        _instance.save(path)
                    except OSError as exc:  # a read-only environment still classifies, it retrains next time
                        log.warning("could not keep the message-kind classifier at %s: %s", path, exc)
    return _instance


def classify(text: str, query_vector: np.ndarray | None) -> str:
    """The kind of a chat message from its text and the vector the engine computed for it; no vector or
    no text (an empty message): other."""
    if query_vector is None or not np.any(query_vector) or not text.strip():
        return OTHER
    return classifier().classify_one(text, query_vector)


def classify_text(text: str) -> str:
    """The kind of a message nothing has encoded yet (a message to a person from support)."""
    from knowledge_index.embedder import get_embedder

    return classify(text, get_embedder().encode_query(text)) if text.strip() else OTHER


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.kinds build [--force]` trains the shipped classifier; `check` says whether it is built."""
    parser = argparse.ArgumentParser(prog="python -m bot.kinds", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("build", "check"))
    parser.add_argument("--force", action="store_true", help="retrain even if a classifier is built")
    args = parser.parse_args(argv)
    if args.command == "check":
        path = model_path()
        print(f"{'built' if path.exists() else 'not built'}: {path}")
        return 0 if path.exists() else 1
    try:
        path = build(force=args.force)
    except KindDataError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"message-kind classifier: {path}")
    return 0


if __name__ == "__main__":
    # Run as bot.kinds, not __main__: the pickled head must name the class where a later process finds it.
    from bot.kinds import main as _main

    raise SystemExit(_main())
