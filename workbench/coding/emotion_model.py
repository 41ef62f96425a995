"""``emotion@1``: an offline emotion-family model trained on the shipped GoEmotions data.

TF-IDF (words 1–2 and characters 2–5) + class-balanced logistic regression over Ekman's six
families plus neutral. Trained at set-up (``workbench train``) or on first use from
``workbench/data/goemotions``, deterministically, and cached; nothing is downloaded. The split is
fixed by a hash of the comment id: ``train`` (70 %) fits the model, ``dev`` (15 %) is where
settings were chosen, ``test`` (15 %) is never used for either and is what the quality benchmark
reports. Without scikit-learn the workbench falls back to the lexicon with a clear message.

GoEmotions items can carry several labels; here each comment gets one family (the most frequent
family among its labels, ties to the first label) — a single-label task, slightly different from
the paper's multi-label evaluation.
"""
from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..errors import WorkbenchError
from ..files import atomic_file

MODEL_ID = "emotion@1"
DATA = Path(__file__).resolve().parent.parent / "data" / "goemotions"
SETTINGS = {"word_ngrams": (1, 2), "char_ngrams": (2, 5), "char_max_features": 200_000, "C": 2.0,
            "class_weight": "balanced", "split": "sha1(id) % 100: <70 train, <85 dev, else test"}


def goemotions() -> pd.DataFrame:
    """The shipped GoEmotions comments with ``family`` and ``split`` columns."""
    with gzip.open(DATA / "train.tsv.gz", "rt", encoding="utf-8") as fh:
        df = pd.read_csv(io.StringIO(fh.read()), sep="\t", header=None, names=["text", "labels", "id"],
                         quoting=3, dtype=str, keep_default_na=False)
    names = (DATA / "emotions.txt").read_text().split()
    mapping = json.loads((DATA / "ekman_mapping.json").read_text())
    family_of = {e: f for f, es in mapping.items() for e in es} | {"neutral": "neutral"}

    def family(labels: str) -> str:
        fams = [family_of[names[int(x)]] for x in labels.split(",")]
        return max(dict.fromkeys(fams), key=lambda f: fams.count(f))

    df["family"] = df["labels"].map(family)
    df["emotion"] = df["labels"].map(lambda s: names[int(s.split(",")[0])])
    bucket = df["id"].map(lambda i: int(hashlib.sha1(i.encode()).hexdigest(), 16) % 100)
    df["split"] = ["train" if b < 70 else "dev" if b < 85 else "test" for b in bucket]
    return df


def cache_dir() -> Path:
    return Path(os.environ.get("WORKBENCH_CACHE", Path.home() / ".cache" / "journey-workbench"))


def _fingerprint() -> str:
    import sklearn

    h = hashlib.sha256((DATA / "train.tsv.gz").read_bytes())
    h.update(json.dumps(SETTINGS, sort_keys=True).encode() + sklearn.__version__.encode())
    h.update(Path(__file__).read_bytes())      # a changed trainer never leaves a stale model in the cache
    return h.hexdigest()[:16]


@dataclass
class EmotionModel:
    """Predicts family probabilities for texts; ``id`` goes into provenance."""

    vectorizers: tuple
    classifier: object
    fingerprint: str
    id: str = MODEL_ID

    def predict_proba(self, texts: list[str]) -> pd.DataFrame:
        from scipy.sparse import hstack

        x = hstack([v.transform(texts) for v in self.vectorizers]).tocsr()
        return pd.DataFrame(self.classifier.predict_proba(x), columns=list(self.classifier.classes_))


def train(progress: bool = False) -> EmotionModel:
    """Fit on the ``train`` split; deterministic."""
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    df = goemotions()
    tr = df[df["split"] == "train"]
    words = TfidfVectorizer(ngram_range=SETTINGS["word_ngrams"], min_df=2, sublinear_tf=True)
    chars = TfidfVectorizer(analyzer="char_wb", ngram_range=SETTINGS["char_ngrams"], min_df=3, sublinear_tf=True,
                            max_features=SETTINGS["char_max_features"])
    x = hstack([words.fit_transform(tr["text"]), chars.fit_transform(tr["text"])]).tocsr()
    clf = LogisticRegression(C=SETTINGS["C"], max_iter=2000, class_weight=SETTINGS["class_weight"])
    clf.fit(x, tr["family"])
    return EmotionModel((words, chars), clf, _fingerprint())


def load(train_if_missing: bool = True) -> EmotionModel | None:
    """The cached model (trained now if missing); None, with a message, when scikit-learn is absent."""
    try:
        import sklearn  # noqa: F401
    except ImportError:
        import sys

        print("note: scikit-learn is not installed, so emotions are coded by the lexicon only "
              "(pip install scikit-learn, then workbench train).", file=sys.stderr)
        return None
    path = cache_dir() / f"{MODEL_ID.replace('@', '-')}-{_fingerprint()}.pkl"
    return cached_pickle(path, train if train_if_missing else None, "The emotion model cache")


def cached_pickle(path: Path, build, what: str = "The model cache"):
    """The object pickled at ``path`` (our own cache file, never user input), else ``build()`` written
    there atomically; None when it is missing and ``build`` is None."""
    if path.exists():
        with path.open("rb") as fh:
            return pickle.load(fh)
    if build is None:
        return None
    obj = build()
    try:
        with atomic_file(path, "wb") as fh:
            pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except WorkbenchError as e:
        raise WorkbenchError(f"{e} {what} can be moved: set WORKBENCH_CACHE to a writable folder.") from None
    return obj
