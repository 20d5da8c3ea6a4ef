"""What a chat message is: a question, a feature request, a bug report, or other (praise, complaint, chit-chat).

Recognised by meaning: a support-vector classifier (RBF kernel) over the all-MiniLM-L6-v2 sentence vector
the answer engine already computed for the message, so classifying costs no second encode. It is trained on
`bot/data/message_kinds.jsonl`, which ships with the project (messages written for it, plus CC BY 3.0
CLINC150 questions; see `bot/data/README.md`), at install time (`python -m bot.kinds build`, run by
`make install`) into the Python environment, next to the ONNX export of the model. A process that finds no
built classifier trains one on first use (about ten seconds) and keeps it for the next process.

Why an RBF kernel and not a linear head: on the development reviews, with near-duplicate reviews kept in
one fold, it reaches macro-F1 0.80 against 0.78 for logistic regression (bench/RESULTS.md, "Session 3:
message kinds"); a feature request and a bug report differ in a few directions that a linear head on a
sentence vector mixes up with praise.
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
METHOD = "svc-rbf-c4-v1"
SVC_C = 4.0


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


def fit_head(vectors: np.ndarray, kinds: Sequence[str]):
    """The classification method on sentence vectors (also what cross-validation measures)."""
    from sklearn.svm import SVC

    return SVC(C=SVC_C, kernel="rbf", gamma="scale").fit(vectors, np.asarray(kinds))


class KindClassifier:
    """A fitted head that turns a sentence vector into one of KINDS."""

    def __init__(self, head) -> None:
        self.head = head

    @classmethod
    def train(cls, texts: Sequence[str], kinds: Sequence[str]) -> KindClassifier:
        """Encode the texts with the shared model and fit the head on them."""
        from knowledge_index.embedder import get_embedder

        return cls(fit_head(get_embedder().encode(list(texts)), kinds))

    def classify_vectors(self, vectors: np.ndarray) -> list[str]:
        """The kind of each row (L2-normalised sentence vectors)."""
        if not len(vectors):
            return []
        return [str(k) for k in self.head.predict(np.asarray(vectors, dtype=np.float32))]

    def classify_vector(self, vector: np.ndarray) -> str:
        """The kind of one message from its sentence vector."""
        return self.classify_vectors(np.asarray(vector, dtype=np.float32).reshape(1, -1))[0]

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
    digest.update(f"|{METHOD}|{MODEL_NAME}|{sklearn.__version__}".encode())
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
                    _instance = KindClassifier.load(path)
                else:
                    log.info("message-kind classifier not built (python -m bot.kinds build); training it now")
                    _instance = KindClassifier.train(*load_messages(DATA_FILE))
                    try:
                        _instance.save(path)
                    except OSError as exc:  # a read-only environment still classifies, it retrains next time
                        log.warning("could not keep the message-kind classifier at %s: %s", path, exc)
    return _instance


def classify(query_vector: np.ndarray | None) -> str:
    """The kind of a chat message from the vector the engine computed for it; no vector (empty text): other."""
    if query_vector is None or not np.any(query_vector):
        return OTHER
    return classifier().classify_vector(query_vector)


def classify_text(text: str) -> str:
    """The kind of a message nothing has encoded yet (a message to a person from support)."""
    from knowledge_index.embedder import get_embedder

    return classify(get_embedder().encode_query(text)) if text.strip() else OTHER


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
    raise SystemExit(main())
