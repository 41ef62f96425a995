"""Shipped training data: one uniform table, the stated counts and mapping rules, fixed splits."""
from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib

import pytest

from conftest import ROOT
from workbench.coding import training_data as td

# Measured on the shipped files (after dropping empty texts and duplicate texts within a source).
ROWS = {("brighter", "en"): 2873, ("brighter", "es"): 2180, ("brighter", "ro"): 1364,
        ("goemotions", "en"): 43227, ("mams", "en"): 4797, ("red", "ro"): 3632,
        ("xed", "en"): 26306, ("xed", "es"): 11302, ("xed", "ro"): 9470}


@pytest.fixture(scope="module")
def df():
    return td.load()


def row(df, source, item_id):
    hit = df[(df["source"] == source) & (df["item_id"] == item_id)]
    assert len(hit) == 1, (source, item_id)
    return hit.iloc[0]


def test_every_source_loads_with_the_stated_rows_by_language(df):
    assert list(df.columns) == td.COLUMNS
    assert df.groupby(["source", "lang"]).size().to_dict() == ROWS


def test_labels_are_within_the_allowed_sets(df):
    assert set(df["lang"]) == {"en", "es", "ro"}
    assert set(df["family"]) <= set(td.FAMILIES) | {""}
    assert set(df["sentiment"]) <= set(td.SENTIMENTS) | {""}
    assert set(df["split"]) == {"train", "dev", "test"}
    projected = (df["source"] == "xed") & df["lang"].isin(["es", "ro"])
    assert (df["annotated_in_language"] == ~projected).all()
    assert not df["item_id"].eq("").any() and not df.duplicated(["source", "item_id"]).any()
    assert not df.duplicated(["source", "lang", "text"]).any()
    assert not df["text"].str.strip().eq("").any()


def test_filters_by_source_and_language(df):
    es = td.load(languages="es")
    assert set(es["lang"]) == {"es"} and len(es) == ROWS["brighter", "es"] + ROWS["xed", "es"]
    red = td.load(sources=["red"], languages=["ro"])
    assert set(red["source"]) == {"red"} and len(red) == ROWS["red", "ro"]
    with pytest.raises(ValueError, match="unknown source"):
        td.load(sources="tweeteval")


def test_splits_are_stable_and_near_70_15_15(df):
    again = td.load()
    assert (again["split"] == df["split"]).all() and (again["item_id"] == df["item_id"]).all()
    xed = td.load(sources="xed")  # asking for one source does not move its items
    assert (xed.set_index("item_id")["split"] == df[df["source"] == "xed"].set_index("item_id")["split"]).all()
    shares = df["split"].value_counts(normalize=True)
    assert 0.66 < shares["train"] < 0.72 and 0.14 < shares["dev"] < 0.18 and 0.13 < shares["test"] < 0.17
    for source, part in df.groupby("source"):
        assert 0.12 < (part["split"] == "test").mean() < 0.17, source


def test_upstream_validation_files_are_dev_and_goemotions_keeps_its_split(df):
    assert (df[df["item_id"].str.contains("_dev_track_a_") & (df["source"] == "brighter")]["split"] == "dev").all()
    assert (df[(df["source"] == "mams") & df["item_id"].str.startswith("val-")]["split"] == "dev").all()
    from workbench.coding import emotion_model
    ge = emotion_model.goemotions().set_index("id")["split"]
    ours = df[df["source"] == "goemotions"].set_index("item_id")["split"]
    assert (ge.reindex(ours.index)[ours == "train"] == "train").all()  # emotion@1's held-out stays held out


def test_test_items_never_appear_in_train(df):
    test = df[df["split"] == "test"]
    train = df[df["split"] == "train"]
    assert not set(zip(test["source"], test["item_id"])) & set(zip(train["source"], train["item_id"]))
    assert not set(test["text"]) & set(train["text"])  # also across sources and languages


def test_mapping_rules_on_real_items(df):
    joy_only = row(df, "brighter", "esp_train_track_a_00001")
    assert (joy_only["labels"], joy_only["family"], joy_only["sentiment"]) == ("joy", "joy", "positive")
    no_label = row(df, "brighter", "ron_train_track_a_00002")
    assert (no_label["labels"], no_label["family"], no_label["sentiment"]) == ("", "neutral", "neutral")
    mixed = row(df, "mams", "train-00001")  # decor negative, food and prices positive
    assert (mixed["family"], mixed["sentiment"]) == ("", "")
    trust = df[(df["source"] == "xed") & (df["labels"] == "trust")]
    assert len(trust) > 100 and (trust["family"] == "joy").all() and (trust["sentiment"] == "positive").all()
    trust_anger = row(df, "xed", "en-annotated:3")  # "8, 1": trust + anger tie → anger; mixed → ""
    assert (trust_anger["labels"], trust_anger["family"], trust_anger["sentiment"]) == ("trust,anger", "anger", "")
    anticipation = df[(df["source"] == "xed") & (df["labels"] == "anticipation")]
    assert len(anticipation) and (anticipation["family"] == "").all() and (anticipation["sentiment"] == "").all()
    assert (df[df["item_id"].str.startswith("neu_en:")]["family"] == "neutral").all()
    red = df[df["source"] == "red"]
    assert red.groupby("labels")["family"].agg(set).to_dict() == {
        "Furie": {"anger"}, "Frica": {"fear"}, "Bucurie": {"joy"}, "Tristete": {"sadness"}, "Neutru": {"neutral"}}
    assert set(df[df["source"] == "mams"]["family"]) == {""}


def test_family_and_sentiment_rules():
    assert td.family_of(["joy", "surprise"]) == "joy" and td.sentiment_of(["joy", "surprise"], "joy") == "positive"
    assert td.family_of(["fear", "surprise"]) == "fear"
    assert td.family_of(["joy", "joy", "anger"]) == "joy"          # most frequent beats priority
    assert td.family_of(["anger", "joy"]) == "anger" and td.sentiment_of(["anger", "joy"], "anger") == ""
    assert td.family_of(["surprise"]) == "surprise" and td.sentiment_of(["surprise"], "surprise") == ""
    assert td.family_of([]) == "neutral" and td.sentiment_of([], "neutral") == "neutral"
    assert td.family_of([None]) == ""                              # anticipation alone
    assert td.family_of(["neutral", "sadness"]) == "sadness"


def test_text_is_kept_raw(df):
    assert row(df, "brighter", "esp_train_track_a_00001")["text"].startswith("2018 y lo sigo escuchando Like")
    assert "@<username>" in row(df, "brighter", "esp_train_track_a_00001")["text"]
    assert row(df, "red", "2547")["text"].startswith("  Mai lung")     # leading spaces as upstream


def test_mams_aspects_have_offsets_and_the_sentence_split(df):
    a = td.mams_aspects()
    assert list(a.columns) == ["item_id", "sentence", "term", "from", "to", "polarity", "split"]
    assert len(a) == 12518 and set(a["polarity"]) == {"negative", "neutral", "positive"}
    assert all(s[f:t] == term for s, f, t, term in zip(a["sentence"], a["from"], a["to"], a["term"]))
    first = a[a["item_id"] == "train-00001"]
    assert list(first["term"]) == ["decor", "food", "prices"]
    assert list(first["polarity"]) == ["negative", "positive", "positive"]
    splits = df[df["source"] == "mams"].set_index("item_id")["split"]
    assert (a["split"] == a["item_id"].map(splits)).all()


def test_package_data_ships_every_training_file_and_loads_from_an_install(tmp_path):
    """Copy what pyproject's package-data selects (plus the modules) and load from that copy."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["workbench"]
    pkg = ROOT / "workbench"
    shipped = {p for pat in patterns for p in pkg.glob(pat) if p.is_file()}
    data = {p for p in (pkg / "data" / "training").rglob("*") if p.is_file()}
    assert data and data <= shipped, sorted(str(p) for p in data - shipped)
    for licence in ("brighter/LICENSE.md", "red/LICENSE", "mams/LICENSE", "xed/LICENSE.md"):
        assert licence in {str(p.relative_to(pkg / "data" / "training")) for p in data}
    site = tmp_path / "site"
    for p in shipped | set(pkg.rglob("*.py")):
        dest = site / "workbench" / p.relative_to(pkg)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(p, dest)
    code = ("import sys; from workbench.coding import training_data as td\n"
            "assert str(td.DATA).startswith(sys.argv[1]), td.DATA\n"
            "print(sum(len(td._source(s)) for s in ('brighter', 'red', 'mams', 'xed')))")
    out = subprocess.run([sys.executable, "-c", code, str(site)], cwd=tmp_path, capture_output=True, text=True,
                         env={"PYTHONPATH": str(site), "PATH": ""})
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == sum(n for (s, _), n in ROWS.items() if s != "goemotions")
