"""Journeys compared and tracked: groups by any attribute (values, thresholds, bands, date waves), map
snapshots and what changed between them (reliable only when a test says so), and goals measured in
every snapshot."""
from __future__ import annotations

from html import unescape
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from conftest import CORPORA
from workbench.coding.run import code_study, default_coder
from workbench.errors import InputError
from workbench.groups import parse_grouping, source_attributes
from workbench.journey import Claim, CurvePoint, JourneyMap, build_map, load_map_inputs
from workbench.pipeline import ingest_paths
from workbench.snapshots import (add_goal, diff_snapshots, diff_summary, goal_history, list_snapshots, load_snapshot,
                                 save_snapshot, snapshot_body)
from workbench.store import Store

STAGE_MODEL = "horizonte_retail"


def _code(store: Store) -> None:
    code_study(store, default_coder(str(CORPORA / "codebooks" / f"{STAGE_MODEL}.yaml")))


@pytest.fixture(scope="module")
def waves(tmp_path_factory):
    """A study coded by the rules: first the interviews (snapshot "interviews"), then the call logs too
    (snapshot "with calls"); a copy of it after the first wave is kept for diffs across studies."""
    root = tmp_path_factory.mktemp("waves")
    path = root / "study.db"
    with Store.create(path) as s:
        ingest_paths(s, [CORPORA / "interviews"], progress=False)
        _code(s)
        save_snapshot(s, "interviews", build_map(s))
    shutil.copy(path, root / "before.db")
    with Store.open(path) as s:
        ingest_paths(s, [CORPORA / "call_logs"], progress=False)
        _code(s)
        add_goal(s, "Fewer waits in service", "service", "pain:waiting", "lower")
        add_goal(s, "Better CSAT in service", "service", "metric:csat", "higher")
        save_snapshot(s, "with calls", build_map(s))
    return root


# ------------------------------------------------------------------------------ groups
def test_group_specs_read_thresholds_bands_and_waves():
    g = parse_grouping("csat<=2")
    assert g.labels == ("csat<=2", "csat>2")
    v = pd.Series([1, 2, 3, None, "5", "n/a"])
    assert g.assign(v).tolist() == ["csat<=2", "csat<=2", "csat>2", None, "csat>2", None]
    b = parse_grouping(None, bands="csat:1-2,3,4-5")
    assert b.spec == "csat:1-2,3,4-5" and b.assign(v).tolist() == ["csat 1-2", "csat 1-2", "csat 3", None, "csat 4-5", None]
    w = parse_grouping("date", waves="2026-02,2026-03-01..2026-03-15")
    dates = pd.Series(["2026-02-28", "2026-03-15T23:59:00", "2026-03-16", None, "2025-02-10"])
    assert w.assign(dates).tolist() == ["2026-02", "2026-03-01..2026-03-15", None, None, None]
    for bad, kw, says in [("csat:2-1", {}, "runs backwards"), ("date", {"waves": "feb"}, "not a date prefix"),
                          ("", {"waves": "2026-02"}, "--waves needs --compare-by"), ("csat:a,b", {}, "not a number")]:
        with pytest.raises(InputError, match=says):
            parse_grouping(bad, **kw)


def test_compare_by_outcome_channel_and_a_csat_band_give_tested_differences(waves):
    with Store.open(waves / "study.db") as s:
        inputs = load_map_inputs(s, attributes=["outcome", "channel", "csat"])
        attrs = source_attributes(s, ("outcome",))
        with pytest.raises(InputError, match="No attribute 'mood' in this study; it has: .*outcome"):
            source_attributes(s, ("mood",))
    for spec, groups in [("outcome", ("resolved", "unresolved")), ("channel", None), ("csat<=2", None)]:
        m = build_map(inputs, compare_by=spec, groups=groups)
        assert len(m.groups) >= 2 and m.group_by == spec
        if groups:
            assert [g.name for g in m.groups] == list(groups)
        d = m.differences
        assert len(d) and {"p_value", "q_value", "effect", "reliable", "n_higher", "n_lower"} <= set(d.columns)
        assert set(d["higher_in"]) | set(d["lower_in"]) <= {g.name for g in m.groups}
        assert (d["q_value"] >= d["p_value"] - 1e-9).all()
    # a group's map holds only its own sources' excerpts
    m = build_map(inputs, compare_by="outcome", group="unresolved")
    assert set(attrs.loc[m.evidence["source_id"].unique(), "outcome"]) == {"unresolved"}
    assert m.settings["compare_by"] == "outcome" and m.name == "unresolved"
    # a thin group is flagged; an unknown group is refused with the values there are
    m = build_map(inputs, compare_by="channel", min_group=12)
    thin = [g for g in m.groups if g.n_participants < 12]
    assert thin and all(any(f"Group {g.name!r} is thin" in n for n in m.notes) for g in thin)
    with pytest.raises(InputError, match="No outcome 'lost' in this study; its values are: .*resolved"):
        build_map(inputs, compare_by="outcome", groups=("resolved", "lost"))


def test_cli_compare_by_writes_group_maps_side_by_side(waves, tmp_path, cli):
    code, out, err = cli("map", "--study", waves / "study.db", "--compare-by", "outcome", "--groups", "resolved,unresolved",
                         "--out", tmp_path / "r")
    assert code == 0, err
    assert "Compared by outcome: resolved (" in out and "differences tested" in out
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Differences between groups (by outcome)" in html and "Group maps side by side" in html
    d = pd.read_csv(tmp_path / "r" / "differences.csv")
    assert set(d["higher_in"]) <= {"resolved", "unresolved"}
    assert json.loads((tmp_path / "r" / "study.json").read_text())["compare"] == ["resolved", "unresolved"]
    code, _, err = cli("map", "--study", waves / "study.db", "--bands", "csat:1-2,3,4-5", "--out", tmp_path / "b")
    assert code == 0, err and "csat 1-2" in (tmp_path / "b" / "differences.csv").read_text()
    code, _, err = cli("map", "--study", waves / "study.db", "--segment", "x", "--compare-by", "outcome", "--out", tmp_path / "x")
    assert code != 0 and "not both" in err


# ------------------------------------------------------------------------------ diffs
def _map(name: str, voiced: dict[str, int], people: int, valence: float, seed: int = 0) -> JourneyMap:
    """A map of ``people`` participants at one stage; ``voiced[code]`` of them voice each pain point."""
    rng = np.random.default_rng(seed)
    ids = [f"{name}-{i}" for i in range(people)]
    ev = pd.DataFrame({"excerpt_id": ids, "source_id": ids, "source_name": ids, "speaker": "c", "participant": ids,
                       "segment": None, "stage": "service", "start": 0, "end": 1, "quote": "q",
                       "valence": np.clip(valence + rng.normal(0, 0.3, people), -1, 1)})
    claims = [Claim(f"service.pain_points.{code}", "service", "pain_points", code, tuple(rng.choice(ids, k, replace=False)),
                    k, k, code=code) for code, k in voiced.items() if k]
    return JourneyMap("s", "m", 1, [("service", "Service")], None, claims,
                      [CurvePoint("service", people, valence, None, None, tuple(ids))], ev)


def test_a_known_change_is_reliable_and_noise_is_not():
    before = snapshot_body(_map("a", {"waiting": 10, "fees": 30, "app_crash": 5}, 100, -0.2))
    after = snapshot_body(_map("b", {"waiting": 45, "fees": 30, "lost_card": 20}, 100, -0.6, seed=1))
    d = diff_snapshots(before, after)
    row = d.set_index("claim_id").loc
    assert row["service.pain_points.waiting", "change"] == "grew" and row["service.pain_points.waiting", "reliable"]
    assert row["service.pain_points.waiting", "before"] == 0.1 and row["service.pain_points.waiting", "after"] == 0.45
    assert row["service.pain_points.lost_card", "change"] == "appeared" and row["service.pain_points.lost_card", "reliable"]
    assert row["service.pain_points.app_crash", "change"] == "disappeared"
    assert row["service.pain_points.fees", "change"] == "same" and not row["service.pain_points.fees", "reliable"]
    curve = d[d["kind"] == "curve"].iloc[0]
    assert curve["change"] == "fell" and curve["reliable"] and curve["low"] < -0.4 < curve["high"] < 0
    assert diff_summary(d)["reliable"] == 3
    # the same rates drawn twice: shares differ by chance, and no change is called reliable
    rng = np.random.default_rng(7)
    rates = {f"code_{i}": p for i, p in enumerate(np.linspace(0.05, 0.6, 25))}
    noise_a = snapshot_body(_map("a", {c: int(rng.binomial(80, p)) for c, p in rates.items()}, 80, -0.2, seed=2))
    noise_b = snapshot_body(_map("b", {c: int(rng.binomial(80, p)) for c, p in rates.items()}, 80, -0.2, seed=3))
    n = diff_snapshots(noise_a, noise_b)
    assert (n.loc[n["kind"] == "claim", "change"] != "same").sum() > 10 and not n["reliable"].any()


def test_a_snapshot_then_new_sources_then_a_second_snapshot_give_a_diff(waves, tmp_path, cli):
    with Store.open(waves / "study.db") as s:
        snaps = list_snapshots(s)
        a, b = load_snapshot(s, "interviews"), load_snapshot(s, "with calls")
        with pytest.raises(InputError, match="already has a snapshot 'interviews'"):
            save_snapshot(s, "interviews", build_map(s))
        with pytest.raises(InputError, match="No snapshot 'nope'.*it has: interviews, with calls"):
            load_snapshot(s, "nope")
    assert snaps["name"].tolist() == ["interviews", "with calls"] and len(b["sources"]) > len(a["sources"])
    assert {c["claim_id"] for c in a["claims"]} and all(c["evidence"] for c in b["claims"])
    d = diff_snapshots(a, b)
    assert diff_summary(d)["appeared"] > 0 and d["q_value"].dropna().between(0, 1).all()
    assert set(d.loc[d["reliable"], "change"]) <= {"appeared", "disappeared", "grew", "shrank", "rose", "fell"}
    # the CLI: diff with its files, and the report's "What changed" since a snapshot
    code, out, err = cli("map", "diff", "--study", waves / "study.db", "interviews", "with calls", "--out", tmp_path / "d")
    assert code == 0, err and "What changed, interviews → with calls" in out
    assert pd.read_csv(tmp_path / "d" / "changes.csv")["claim_id"].notna().any()
    page = (tmp_path / "d" / "changes.html").read_text()
    assert "What changed: interviews → with calls" in page and "<script" not in page
    code, out, err = cli("map", "--study", waves / "study.db", "--since", "interviews", "--out", tmp_path / "r")
    assert code == 0, err
    assert "What changed: interviews → this map" in (tmp_path / "r" / "report.html").read_text()
    assert (tmp_path / "r" / "changes.csv").exists()
    # across studies: the earlier study's snapshot against this one's current map
    code, out, err = cli("map", "diff", "--study", waves / "study.db", "--against", waves / "before.db", "interviews")
    assert code == 0, err and "What changed, interviews (before.db) → the current map" in out


def test_goals_are_measured_in_every_snapshot_and_reported(waves, tmp_path, cli):
    with Store.open(waves / "study.db") as s:
        for args, says in [(("x", "nowhere", "pain:waiting"), "No stage 'nowhere'"),
                           (("x", "service", "pain:boredom"), "No pain point 'boredom'"),
                           (("x", "service", "csat"), "Cannot read the measure")]:
            with pytest.raises(InputError, match=says):
                add_goal(s, *args)
        h = goal_history(s)
    assert h["snapshot"].tolist() == ["with calls", "with calls"]        # goals added after the first snapshot
    wait = h[h["measure"] == "pain:waiting"].iloc[0]
    assert 0 < wait["value"] < 1 and wait["low"] <= wait["value"] <= wait["high"]
    csat = h[h["measure"] == "metric:csat"].iloc[0]
    assert 1 <= csat["low"] <= csat["value"] <= csat["high"] <= 5
    code, out, err = cli("goals", "list", "--study", waves / "study.db")
    assert code == 0 and "Fewer waits in service" in out
    code, out, err = cli("map", "--study", waves / "study.db", "--out", tmp_path / "r")
    html = (tmp_path / "r" / "report.html").read_text()
    assert "Goals across snapshots" in html and 'id="chart-goals"' in html


def test_changes_panel_shows_a_diff_its_quotes_and_stores_snapshots(waves, tmp_path):
    from workbench.widgets import ChangesPanel

    path = tmp_path / "study.db"
    shutil.copy(waves / "study.db", path)
    with Store.create(tmp_path / "empty.db"):
        pass
    empty = ChangesPanel(tmp_path / "empty.db")
    assert empty.show_button.disabled and "No snapshots yet" in empty.status.value

    panel = ChangesPanel(path, before="interviews", after="with calls")
    assert panel.summary.value == "" and [v for _, v in panel.after.options] == ["", "interviews", "with calls"]
    panel.show_button.click()
    with Store.open(path) as s:
        expected = diff_snapshots(load_snapshot(s, "interviews"), load_snapshot(s, "with calls"))
    pd.testing.assert_frame_equal(panel.diff, expected)
    n = diff_summary(expected)
    assert f"{n['appeared']} claims appeared" in panel.summary.value and f"{n['reliable']} reliable" in panel.summary.value
    listed = len(panel.shown)
    assert listed == min(40, int((expected["change"] != "same").sum())) == len(panel.pick.options)
    # picking a change that gained evidence shows those new quotes, verbatim, with where they are
    i = next(i for i, r in enumerate(panel.shown.itertuples()) if r.new_evidence_ids)
    panel.pick.value = i
    ids = panel.shown.iloc[i]["new_evidence_ids"].split(";")
    with Store.open(path) as s:
        texts = s.excerpts_of(ids)
    assert panel.quotes.value.count('class="wb-quote"') == min(8, len(ids))
    first = texts.iloc[0]
    assert first["source_name"] in panel.quotes.value and f"characters {first['start']}–{first['end']}" in panel.quotes.value
    assert set(panel.quotes_of(i)) <= set(texts["text"])
    panel.reliable_only.value = True
    assert len(panel.shown) == int(expected["reliable"].sum()) and panel.shown["reliable"].all()
    with pytest.raises(ValueError, match="no listed change 99"):
        panel.quotes_of(99)
    # the current map as a third snapshot, from the panel; the same name again is refused, not overwritten
    panel.name.value = "third"
    panel.snapshot_button.click()
    assert "Stored the current map as snapshot 'third'" in unescape(panel.status.value) and "third" in dict(panel.before.options).values()
    with Store.open(path) as s:
        stored = load_snapshot(s, "third")["created"]
    panel.snapshot_button.click()
    assert "already has a snapshot 'third'" in unescape(panel.status.value)
    with Store.open(path) as s:
        assert load_snapshot(s, "third")["created"] == stored and len(list_snapshots(s)) == 3
    # before and after a redesign: the other study's snapshot against this study's current map
    across = ChangesPanel(path, against=waves / "before.db", before="interviews")
    d = across.show("interviews")
    assert "interviews (before.db) → the current map" in across.summary.value and diff_summary(d)["appeared"] > 0
