"""Metrics checked against published worked examples and hand computation."""
from __future__ import annotations

import json

import pytest

from conftest import write
from workbench.coding.metrics import accuracy, cohen_kappa, confusion_matrix, evaluate, krippendorff_alpha, macro_f1, per_class
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.store import Store


def test_krippendorff_alpha_matches_krippendorff_2011_worked_example():
    """Reliability data from Krippendorff (2011), 'Computing Krippendorff's Alpha-Reliability':
    4 observers, 12 units, missing values; nominal alpha = 0.743."""
    a = [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None]
    b = [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3]
    c = [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None]
    d = [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]
    assert round(krippendorff_alpha(list(zip(a, b, c, d))), 3) == 0.743


def test_cohen_kappa_textbook_two_by_two():
    """50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 → p_o 0.7, p_e 0.5, kappa 0.4."""
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, a) == 1.0


def test_f1_and_macro_f1_by_hand():
    gold = ["a", "a", "a", "b", "b", "c"]
    pred = ["a", "a", "b", "b", "c", "c"]
    table = per_class(gold, pred).set_index("label")
    # a: P 2/2, R 2/3 → F1 0.8; b: P 1/2, R 1/2 → 0.5; c: P 1/2, R 1/1 → 2/3
    assert table.loc["a", "f1"] == pytest.approx(0.8)
    assert table.loc["b", "f1"] == pytest.approx(0.5)
    assert table.loc["c", "f1"] == pytest.approx(2 / 3)
    assert macro_f1(gold, pred) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    assert accuracy(gold, pred) == pytest.approx(4 / 6)
    assert confusion_matrix(gold, pred).loc["a", "b"] == 1
    # a label never predicted nor in gold but requested still counts (as scikit-learn with labels=)
    assert macro_f1(gold, pred, ["a", "b", "c", "d"]) == pytest.approx((0.8 + 0.5 + 2 / 3) / 4)


def test_alpha_of_two_coders_with_no_missing_values():
    """Two coders, nominal: alpha = 1 - (n-1) * D_o / D_e; perfect agreement gives 1."""
    assert krippendorff_alpha([("x", "x"), ("y", "y")]) == 1.0
    r = evaluate(["a", "a", "b", "b"], ["a", "b", "b", "b"])
    # coincidences: a-a 2, b-b 4, a-b 1, b-a 1 → n 8; D_o 2; D_e = (3*5*2)/7 → alpha = 1 - 2*7/30
    assert r.alpha == pytest.approx(1 - 14 / 30)


def test_evaluate_cli_joins_by_excerpt_id_and_writes_reports(tmp_path, cli):
    gold = write(tmp_path / "gold.csv", "excerpt_id,stage,pain_point\ne1,usage,waiting\ne2,service,\ne3,usage,none\n")
    pred = write(tmp_path / "pred.csv", "excerpt_id,stage,pain\ne3,usage,\ne1,usage,waiting\ne2,usage,broken_flow\n")
    code, out, err = cli("evaluate", "--gold", gold, "--pred", pred, "--columns", "stage,pain_point=pain", "--out", tmp_path / "ev")
    assert code == 0, err
    metrics = json.loads((tmp_path / "ev" / "metrics.json").read_text())
    assert metrics["stage"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)
    assert metrics["pain_point"]["accuracy"] == pytest.approx(2 / 3, abs=1e-4)  # empty cell == none
    assert (tmp_path / "ev" / "stage_confusion.csv").exists() and "macro_f1" in out


def test_evaluate_cli_errors(tmp_path, cli):
    gold = write(tmp_path / "gold.csv", "excerpt_id,stage\ne1,usage\ne2,service\n")
    pred = write(tmp_path / "pred.csv", "excerpt_id,stage\ne1,usage\n")
    code, _, err = cli("evaluate", "--gold", gold, "--pred", pred, "--columns", "stage")
    assert code == 2 and "no prediction for 1 of the 2 gold rows" in err
    code, _, err = cli("evaluate", "--gold", gold, "--pred", pred, "--columns", "emotion")
    assert code == 2 and "has no column emotion; it has: excerpt_id, stage" in err


def test_agreement_between_two_human_coders_in_a_study(tmp_path, cli, study):
    p = write(tmp_path / "p.txt", "Interviewer: How was it?\nP1: I waited twelve days for the card. The app is great. "
              "Support never called back. I will stay anyway.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False, segment=None)
        ids = list(s.excerpts().query("role == 'participant'")["excerpt_id"])
        ana = ["onboarding", "usage", "service", "loyalty"]
        luis = ["onboarding", "usage", "service", "usage"]
        s.add_codings([Coding(e, "stage", c, "human:ana", status="accepted") for e, c in zip(ids, ana)]
                      + [Coding(e, "stage", c, "human:luis", status="accepted") for e, c in zip(ids, luis)]
                      + [Coding(ids[0], "stage", "usage", "rules@1", 0.4)])
    code, out, err = cli("agreement", "--study", study, "--coders", "ana,luis", "--out", tmp_path / "ag")
    assert code == 0, err
    m = json.loads((tmp_path / "ag" / "metrics.json").read_text())["stage"]
    assert m["n"] == 4 and m["accuracy"] == 0.75
    assert m["cohen_kappa"] == pytest.approx(cohen_kappa(ana, luis), abs=1e-4)


def test_weighted_kappa_matches_sklearn_and_punishes_far_misses_more():
    from sklearn.metrics import cohen_kappa_score

    from workbench.coding.metrics import weighted_kappa
    gold = [1, 2, 2, 3, 2, 1, 3, 2, 2, 1]
    pred = [1, 2, 3, 3, 2, 2, 2, 2, 1, 1]
    for w in ("linear", "quadratic"):
        assert abs(weighted_kappa(gold, pred, [1, 2, 3], w) - cohen_kappa_score(gold, pred, weights=w)) < 1e-9
    near = [2 if g == 3 else g for g in gold]    # 3 called 2
    far = [1 if g == 3 else g for g in gold]     # 3 called 1
    assert weighted_kappa(gold, near, [1, 2, 3]) > weighted_kappa(gold, far, [1, 2, 3])
    assert weighted_kappa(gold, gold, [1, 2, 3]) == 1.0
