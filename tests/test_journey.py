"""Journey maps and the report: every claim resolves to quotes, quotes are exact, output is safe,
offline and reproducible, and human decisions shape the map."""
from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from conftest import CORPORA, write
from workbench.demo import run_demo, write_demo_report
from workbench.errors import InputError
from workbench.journey import build_map, compare_maps
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.report import write_report
from workbench.store import Store

XSS = '<script>alert("x")</script> and <img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run_demo(CORPORA, out, progress=False, notebook=False)
    return out


def test_every_claim_resolves_to_quotes_that_match_the_source_text(demo):
    rep = demo / "report"
    claims = pd.read_csv(rep / "claims.csv", dtype=str, keep_default_na=False)
    evidence = pd.read_csv(rep / "evidence.csv", dtype={"excerpt_id": str}, keep_default_na=False)
    assert list(claims.columns) == ["claim_id", "stage", "lane", "text", "n_excerpts", "n_participants", "evidence_ids"]
    assert list(evidence.columns) == ["excerpt_id", "source_id", "source_name", "speaker", "start", "end", "quote"]
    known = set(evidence["excerpt_id"])
    assert len(claims) > 50 and claims["claim_id"].is_unique
    for row in claims.itertuples():
        ids = row.evidence_ids.split(";")
        assert ids and set(ids) <= known, row.claim_id
        assert int(row.n_excerpts) == len(ids)
    with Store.open(demo / "study.db") as store:
        texts = {sid: store.source_text(sid) for sid in evidence["source_id"].unique()}
    for row in evidence.itertuples():
        assert texts[row.source_id][row.start:row.end] == row.quote
    # the map covers the lanes a journey map needs, on the study's own stage model
    assert {"doing", "feeling", "touchpoints", "people", "pain_points", "metrics", "backstage"} <= set(claims["lane"])
    study = json.loads((rep / "study.json").read_text())
    with Store.open(demo / "study.db") as store:
        machine = {c for c in store.codings()["coder"] if not c.startswith("human:")}
    # the coders recorded are the ones whose codes are on the map (the embedding coder by default)
    assert study["stage_model"]["name"] == "horizonte_retail" and machine <= set(study["coders"]) and "embed@1" in machine


def test_report_is_offline_escaped_and_links_claims_both_ways(demo):
    html = (demo / "report" / "report.html").read_text()
    refs = _References()
    refs.feed(html)
    external = [r for r in refs.urls if re.match(r"^(https?:)?//", r)]
    assert external == [] and not refs.stylesheets
    assert "cdn.jsdelivr" not in html and "vegaEmbed(" in html
    anchors = set(refs.ids)
    claims = pd.read_csv(demo / "report" / "claims.csv", dtype=str)
    for cid in claims["claim_id"]:
        assert f"claim-{cid}" in anchors and f"ev-{cid}" in anchors
    internal = [u[1:] for u in refs.urls if u.startswith("#")]
    assert internal and set(internal) <= anchors  # no dangling link
    png = (demo / "report" / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
    assert (demo / "report" / "map.svg").read_text().lstrip().startswith("<svg")


def test_same_study_and_settings_give_byte_identical_outputs(demo, tmp_path):
    write_demo_report(demo / "study.db", tmp_path / "again")   # the same call the demo made
    for name in ("claims.csv", "evidence.csv", "differences.csv", "study.json", "report.html", "map.svg"):
        assert (tmp_path / "again" / name).read_bytes() == (demo / "report" / name).read_bytes(), name


def _coded_study(tmp_path: Path, study: Path) -> dict[str, str]:
    p1 = write(tmp_path / "p1.txt", "Interviewer: How was opening the account?\n"
               f"P1: The selfie check failed three times. {XSS} I waited twelve days for the card.\n")
    p2 = write(tmp_path / "p2.txt", "Interviewer: And opening the account?\n"
               "P2: The selfie check failed twice and the application took days.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p1, p2], progress=False)
        ex = s.excerpts()
        voice = ex[ex["role"] == "participant"]
        ids = dict(zip(voice["text"].str[:12], voice["excerpt_id"]))
        codings = []
        for eid in ids.values():
            codings += [Coding(eid, "stage", "purchase", "rules@2", 0.6, "cue"),
                        Coding(eid, "pain_point", "broken_flow", "rules@2", 0.6, "cue", value=2.0),
                        Coding(eid, "emotion", "annoyance", "rules@2", 0.6, "cue", value=-0.5)]
        s.add_codings(codings)
    return ids


def test_map_follows_human_decisions_and_marks_thin_and_unreviewed_claims(tmp_path, study):
    ids = _coded_study(tmp_path, study)
    with Store.open(study) as s:
        jm = build_map(s, stage_model="awareness_advocacy")
        pain = next(c for c in jm.claims if c.lane == "pain_points")
        assert pain.n_excerpts == len(ids) and pain.unreviewed == 1.0
        # a human rejects one pain suggestion and recodes another excerpt's stage
        first, *rest = sorted(ids.values())
        s.add_codings([Coding(first, "pain_point", "broken_flow", "human:ana", status="rejected"),
                       Coding(rest[0], "stage", "retention_advocacy", "human:ana", status="accepted")])
        jm2 = build_map(s, stage_model="awareness_advocacy")
        accepted_only = build_map(s, stage_model="awareness_advocacy", include_suggested=False)
    pains = [c for c in jm2.claims if c.lane == "pain_points"]
    assert sum(c.n_excerpts for c in pains) == len(ids) - 1
    assert jm2.evidence.set_index("excerpt_id").loc[rest[0], "stage"] == "retention_advocacy"
    assert list(accepted_only.evidence["excerpt_id"]) == [rest[0]]  # only the human-coded excerpt remains
    thin = [c for c in jm2.claims if c.n_participants == 1]
    assert thin and all(c.thin for c in thin)


def test_quotes_are_escaped_in_the_html(tmp_path, study):
    _coded_study(tmp_path, study)
    with Store.open(study) as s:
        jm = build_map(s, stage_model="awareness_advocacy")
    write_report(jm, tmp_path / "rep", images=False)
    html = (tmp_path / "rep" / "report.html").read_text()
    body, script = html.split("<script>vegaEmbed", 1)
    assert '<script>alert("x")</script>' not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    # chart data travel inside <script>: a quote there can never close it
    import altair as alt

    from workbench.report import _spec_json
    spec = _spec_json(alt.Chart(pd.DataFrame({"quote": [XSS]})).mark_text().encode(text="quote"))
    assert "<" not in spec and ">" not in spec and json.loads(spec)["datasets"]


def test_bootstrap_interval_is_seeded(tmp_path, study):
    lines = "".join(f"P1: Sentence number {i} about the account.\nInterviewer: And then?\n" for i in range(12))
    write(tmp_path / "p.txt", "Interviewer: Tell me.\n" + lines)
    with Store.open(study) as s:   # twelve excerpts with feelings that differ, so resamples differ and the seed shows
        ingest_paths(s, [tmp_path / "p.txt"], progress=False)
        voice = s.excerpts().query("role == 'participant'")["excerpt_id"].tolist()
        s.add_codings([c for i, e in enumerate(voice) for c in (
            Coding(e, "stage", "purchase", "rules@2", 0.6, "cue"),
            Coding(e, "emotion", "annoyance", "rules@2", 0.6, "cue", value=round(-0.9 + 0.15 * i, 2)))])
        a = build_map(s, stage_model="awareness_advocacy", seed=1, n_boot=50).curve
        b = build_map(s, stage_model="awareness_advocacy", seed=1, n_boot=50).curve
        c = build_map(s, stage_model="awareness_advocacy", seed=2, n_boot=50).curve
    point = next(p for p in a if p.n)
    # the mean is over the 9 emotional excerpts (−0.15, 0.00 and +0.15 are within the neutral band);
    # the shares are over all 12, each with its interval
    assert point.n_all == len(voice) == 12 and point.n == 9 and point.low < point.mean < point.high
    assert point.mean == pytest.approx(sum(v for i in range(12) if abs(v := round(-0.9 + 0.15 * i, 2)) > 0.25) / 9, abs=1e-4)
    assert point.share_negative == pytest.approx(5 / 12, abs=1e-4) and point.share_positive == pytest.approx(4 / 12, abs=1e-4)
    assert point.negative_low < point.share_negative < point.negative_high
    assert a == b
    assert [(p.low, p.high) for p in a] != [(p.low, p.high) for p in c]


def test_segments_filter_and_compare(demo):
    with Store.open(demo / "study.db") as s:
        small = build_map(s, segment="small_business")
        young = build_map(s, segment="young_professional")
        with pytest.raises(InputError, match="No segment 'students' in this study; it has: small_business, young_professional"):
            build_map(s, segment="students")
    assert set(small.evidence["segment"]) == {"small_business"}
    diffs = compare_maps([small, young])
    assert not diffs.empty and set(diffs["higher_in"]) <= {"small_business", "young_professional"}
    assert {"p_value", "q_value", "effect", "reliable"} <= set(diffs.columns)
    assert (diffs["q_value"] >= diffs["p_value"] - 1e-9).all() and diffs["q_value"].between(0, 1).all()
    assert set(diffs["kind"]) <= {"claim", "curve"} and (diffs.loc[diffs["kind"] == "claim", "code"] != "").all()
    for row in diffs.itertuples():
        assert row.evidence_ids  # every difference names its evidence


def _segment_map(segment: str, voiced: int, people: int, valence: float):
    """A map of ``people`` participants at one stage, ``voiced`` of whom mention waiting."""
    from workbench.journey import Claim, CurvePoint, JourneyMap

    ids = [f"{segment}-{i}" for i in range(people)]
    ev = pd.DataFrame({"excerpt_id": ids, "source_id": ids, "source_name": ids, "speaker": "c", "participant": ids,
                       "segment": segment, "stage": "service", "start": 0, "end": 1, "quote": "q",
                       "valence": [valence + 0.01 * i for i in range(people)]})
    claims = [Claim("service.pain_points.waiting", "service", "pain_points", "Waiting and delay", tuple(ids[:voiced]),
                    voiced, voiced, code="waiting")] if voiced else []
    return JourneyMap("s", "m", 1, [("service", "Service")], segment, claims,
                      [CurvePoint("service", people, valence, None, None, tuple(ids))], ev)


def test_segment_differences_are_tested_and_only_reliable_ones_are_claimed():
    from workbench.journey import benjamini_hochberg
    from workbench.report import _differences_html

    assert benjamini_hochberg([0.01, 0.04, 0.03, 0.2]).round(4).tolist() == [0.04, 0.0533, 0.0533, 0.2]
    # 14 of 15 churned customers wait vs 1 of 15 retained, and they feel worse: reliable
    d = compare_maps([_segment_map("churned", 14, 15, -0.6), _segment_map("retained", 1, 15, 0.3)])
    wait = d[d["code"] == "waiting"].iloc[0]
    assert wait["reliable"] and wait["higher_in"] == "churned" and wait["q_value"] < 0.001
    assert wait["difference"] == pytest.approx(13 / 15, abs=1e-3) and wait["effect"] > 1
    assert d[d["kind"] == "curve"].iloc[0]["higher_in"] == "retained" and d[d["kind"] == "curve"].iloc[0]["reliable"]
    assert "No reliable differences" not in _differences_html(d)
    # 3 of 6 vs 2 of 6: a gap, but nothing a test supports — and the report says so
    d = compare_maps([_segment_map("a", 3, 6, 0.0), _segment_map("b", 2, 6, 0.0)])
    assert not d["reliable"].any()
    assert "No reliable differences" in _differences_html(d)


def test_cli_map_writes_the_report_and_explains_an_uncoded_study(tmp_path, cli, study, demo):
    code, _, err = cli("map", "--study", study, "--out", tmp_path / "r")
    assert code != 0 and "no coded stages yet" in err and "workbench code --study" in err
    assert not (tmp_path / "r" / "report.html").exists()
    code, out, err = cli("map", "--study", demo / "study.db", "--compare", "small_business,young_professional",
                         "--out", tmp_path / "cmp")
    assert code == 0, err
    assert (tmp_path / "cmp" / "differences.csv").exists() and "Differences between segments" in (
        tmp_path / "cmp" / "report.html").read_text()


class _References(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.ids: list[str] = []
        self.stylesheets = False

    def handle_starttag(self, tag, attrs):
        for k, v in attrs:
            if k in ("src", "href", "action", "srcset", "poster", "data") and v is not None:
                self.urls.append(v)
            if k == "id":
                self.ids.append(v)
        if tag == "link":
            self.stylesheets = True


def test_effective_codings_humans_win_rejections_remove_and_the_most_confident_machine_counts():
    from workbench.decisions import effective_codings
    rows = [  # excerpt, dimension, code, coder, confidence, status
        ("S-1", "pain_point", "waiting", "rules@2", 0.6, "suggested"),
        ("S-1", "pain_point", "effort_repetition", "human:ana", 1.0, "accepted"),   # human decision wins
        ("S-2", "pain_point", "waiting", "rules@2", 0.6, "suggested"),
        ("S-2", "pain_point", "waiting", "human:ana", 1.0, "rejected"),             # rejected: gone
        ("S-2", "emotion", "joy", "emotion@1", 0.4, "suggested"),
        ("S-2", "emotion", "anger", "lexicon@1", 0.9, "suggested"),                 # more confident coder wins
        ("S-3", "stage", "purchase", "b@1", 0.5, "suggested"),
        ("S-3", "stage", "awareness", "a@1", 0.5, "suggested"),                     # tie: coder name decides
    ]
    codings = pd.DataFrame(rows, columns=["excerpt_id", "dimension", "code_id", "coder", "confidence", "status"])
    eff = effective_codings(codings)
    got = list(zip(eff["excerpt_id"], eff["dimension"], eff["code_id"], eff["suggested"]))
    assert got == [("S-1", "pain_point", "effort_repetition", False), ("S-2", "emotion", "anger", True),
                   ("S-3", "stage", "awareness", True)]
    only_humans = effective_codings(codings, include_suggested=False)
    assert list(only_humans["code_id"]) == ["effort_repetition"]
    # the same decisions whatever order the store returns the rows in
    shuffled = effective_codings(codings.sample(frac=1, random_state=3).reset_index(drop=True))
    assert list(zip(shuffled["excerpt_id"], shuffled["dimension"], shuffled["code_id"], shuffled["suggested"])) == got


def test_bootstrap_interval_matches_plain_resampling():
    import numpy as np

    from workbench.journey import _bootstrap_means
    rng = np.random.default_rng(0)
    v = rng.choice([-0.6, -0.3, 0.0, 0.4, 0.8], size=400, p=[0.3, 0.2, 0.2, 0.2, 0.1])
    fast = np.quantile(_bootstrap_means(v, 4000, np.random.default_rng(1)), [0.025, 0.975])
    plain = np.quantile(np.random.default_rng(2).choice(v, size=(4000, len(v))).mean(axis=1), [0.025, 0.975])
    assert np.allclose(fast, plain, atol=0.01)
    assert fast[0] < v.mean() < fast[1]


def test_doing_holds_activities_and_thinking_holds_grouped_verbatim_quotes(demo):
    from workbench.codebook import resolve

    acts = resolve(str(CORPORA / "codebooks" / "horizonte_retail_activities.yaml"))
    labels = {c.code_id: c.label for c in acts.codes}
    with Store.open(demo / "study.db") as s:
        jm = build_map(s)
        small, young = build_map(s, segment="small_business"), build_map(s, segment="young_professional")
    doing = [c for c in jm.claims if c.lane == "doing"]
    # what customers do, as the codebook's activity labels ("Calls the helpline"), never single words
    assert len(doing) >= 10 and {c.stage for c in doing} == {st for st, _ in jm.stages}
    assert all(c.code in labels and c.text == labels[c.code] for c in doing)
    thinking = [c for c in jm.claims if c.lane == "thinking"]
    assert len({c.stage for c in thinking}) >= 4
    for c in thinking:
        assert c.text.startswith("“") and c.text.endswith("”") and len(c.text) <= 150
        assert c.detail.split(" · ")[0] in {"Question", "Expectation", "Worry"}
        quote = c.text[1:-1].strip("…")
        # a verbatim piece of one of its own quotes (whitespace aside), trimmed at a clause boundary
        assert any(quote in " ".join(jm.quote(i).split()) for i in c.evidence), c.text
    per_stage = pd.Series([c.stage for c in thinking]).value_counts()
    assert per_stage.max() <= jm.settings["top_thoughts"]
    # segment differences are tested between activities and thoughts too (codes, never words)
    diffs = compare_maps([small, young])
    assert {"doing", "thinking"} <= set(diffs["lane"])


def test_an_empty_doing_lane_says_why(tmp_path, study):
    _coded_study(tmp_path, study)        # stages, pains and emotions only: coded as before activities existed
    with Store.open(study) as s:
        coded_before = build_map(s, stage_model="awareness_advocacy")
    assert not any(c.lane == "doing" for c in coded_before.claims)
    assert any("no excerpt is coded with an activity" in n for n in coded_before.notes)
    own = write(tmp_path / "own.yaml", "codebook: own\nversion: 1\ndimension: stage\nkind: stage_model\ncodes:\n"
                "  - id: purchase\n    label: Purchase\n    definition: Buying.\n    order: 1\n")
    with Store.open(study) as s:
        bare = build_map(s, stage_model=str(own))
    assert any("names no activities codebook" in n for n in bare.notes)


def test_a_thought_is_quoted_by_the_clause_that_voices_it():
    from workbench.codebook import resolve
    from workbench.coding.cues import CueMatcher
    from workbench.coding.rules import _cues
    from workbench.journey import _clause

    m = CueMatcher(_cues(resolve("thoughts")))
    text = "I opened it on Monday. How long until my card arrives? Nobody told me anything."
    assert _clause(text, m, "question") == "…How long until my card arrives?"
    long = ("Me preocupaba que la comisión de mantenimiento subiera otra vez, porque ya me había pasado con el otro "
            "banco, y además nadie en la oficina sabía explicarme de cuánto sería ni desde cuándo")
    out = _clause(long, m, "worry")
    assert out.startswith("Me preocupaba que la comisión") and out.endswith("…") and len(out) <= 141
    assert long.startswith(out[:-1])


def test_maps_are_built_from_inputs_read_once_and_keep_the_study_codebooks(demo, tmp_path, monkeypatch):
    import shutil

    from workbench import journey
    from workbench.codebook import parse_codebook, resolve, to_yaml
    from workbench.journey import load_map_inputs

    study = tmp_path / "study.db"
    shutil.copy(demo / "study.db", study)
    with Store.open(study) as s:
        direct = build_map(s, segment="small_business")
        inputs = load_map_inputs(s)
    # the store is closed: building needs no reads, and gives the same map as reading on the spot
    again = build_map(inputs, segment="small_business")
    assert again.claims == direct.claims and again.curve == direct.curve
    assert build_map(inputs).claims == build_map(inputs).claims
    # the shipped pain codebook changes its labels after the study was coded: the map keeps the study's labels
    changed = parse_codebook(to_yaml(resolve("pain_points")).replace("label: Waiting and delay", "label: Renamed later"))
    monkeypatch.setattr(journey, "resolve", lambda name: changed if name == "pain_points" else resolve(name))
    with Store.open(study) as s:
        pains = {c.text for c in build_map(s).claims if c.lane == "pain_points"}
    assert "Waiting and delay" in pains and "Renamed later" not in pains
    # a study coded before codebooks were stored: the shipped labels, and a note that says so
    with Store.open(study) as s:
        s.con.execute("DELETE FROM study WHERE key = 'coding.codebooks_yaml'")
        s.con.commit()
        old = build_map(s)
    assert "Renamed later" in {c.text for c in old.claims if c.lane == "pain_points"}
    assert any("shipped codebooks" in n for n in old.notes)


def test_emotion_curve_marks_its_moments_of_truth_and_agrees_with_csat(demo):
    from workbench.journey import CurvePoint, _moments

    pts = [CurvePoint(s, 3, m, None, None, ()) for s, m in (("a", 0.2), ("b", None), ("c", -0.5), ("d", -0.1), ("e", 0.3))]
    pts[1] = CurvePoint("b", 0, None, None, None, ())
    marked = {p.stage: (p.moment, p.change) for p in _moments(pts)}
    # the stage without emotional excerpts is skipped: a → c is the drop, d → e the rise
    assert marked["c"] == ("drop", -0.7) and marked["e"] == ("rise", 0.4) and marked["d"] == ("", None)
    study = json.loads((demo / "report" / "study.json").read_text())
    check = study["checks"]["valence_vs_csat"]
    # the sample call log's 48 conversations with a CSAT: the customers' valence orders them as their ratings do
    assert check["n_conversations"] == 53 and check["spearman"] > 0.5      # 48 + 5 of the Romanian sample (one has no CSAT)
    html = (demo / "report" / "report.html").read_text()
    assert "moment of truth" in html and "Spearman" in html
    curve = pd.read_csv(demo / "report" / "curve.csv")
    assert {"share_negative", "share_positive", "n_all", "moment"} <= set(curve.columns)
    assert curve["mean"].max() - curve["mean"].min() > 0.3      # highs and lows, not a flat line
