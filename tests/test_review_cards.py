"""Review cards: one excerpt with all its suggested dimensions, decided at once (headless core and panel)."""
from __future__ import annotations

import shutil

import pytest

from conftest import CORPORA, write
from workbench.demo import sample_study
from workbench.errors import InputError
from workbench.model import Coding
from workbench.pipeline import ingest_paths
from workbench.review import (NO_CODE, card_counts, card_queue, decide, decide_card, review_cards, review_queue,
                              review_summary, undo_card)
from workbench.store import Store
from workbench.widgets import ReviewPanel

XSS = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    return sample_study(tmp_path_factory.mktemp("sample") / "study.db", CORPORA)


@pytest.fixture
def sample(coded, tmp_path):
    path = tmp_path / "study.db"
    shutil.copy(coded, path)
    return path


def _humans(s: Store):
    c = s.codings()
    return c[c["coder"].str.startswith("human:")]


def test_the_sample_study_gives_one_card_per_excerpt(sample):
    with Store.open(sample) as s:
        queue = review_queue(s)
        cards = review_cards(s)
        assert len(cards) == queue["excerpt_id"].nunique() == card_counts(s)["excerpts"]
        assert cards["excerpt_id"].is_unique
        assert len(queue) == card_counts(s)["suggestions"] == int(cards["n_suggestions"].sum()) > len(cards)
        assert review_summary(s) == f"{len(cards):,} excerpts to review ({len(queue):,} suggestions)"
        # every suggestion of the queue is on its excerpt's card, with its confidence and rationale
        by_id = cards.set_index("excerpt_id")
        for r in queue.sample(50, random_state=0).itertuples():
            card = by_id.loc[r.excerpt_id]
            assert r.dimension in card["dimensions"] and card[r.dimension] == r.code_id
            assert card[f"{r.dimension}_confidence"] == r.confidence and card[f"{r.dimension}_rationale"] == r.rationale
        page = review_cards(s, limit=5, offset=5)
        assert list(page["excerpt_id"]) == list(cards["excerpt_id"].iloc[5:10])
        assert {"before", "after", "text", "speaker", "source_name", "segment", "start", "end"} <= set(page.columns)


def test_uncertainty_order_puts_the_least_confident_excerpt_first(sample):
    with Store.open(sample) as s:
        cards = review_cards(s, order="uncertainty", context=False)
        weakest = review_queue(s).groupby("excerpt_id")["confidence"].min()
        assert weakest[cards["excerpt_id"].iloc[0]] == weakest.min()
        assert cards["uncertainty"].is_monotonic_decreasing
        assert (cards["uncertainty"] == 1 - weakest.loc[cards["excerpt_id"]].to_numpy()).all()
        assert list(review_cards(s, order="confidence", context=False)["excerpt_id"]) == list(cards["excerpt_id"])
        reading = card_queue(s, order="source")
        assert list(reading["excerpt_id"]) == list(reading.sort_values(["source_name", "excerpt_id"])["excerpt_id"])
        with pytest.raises(InputError, match="uncertainty"):
            review_cards(s, order="random")


def test_accepting_a_card_writes_one_decision_per_dimension_and_recodes_one(sample):
    with Store.open(sample) as s:
        card = review_cards(s, limit=1).iloc[0]
        dims = card["dimensions"]
        assert len(dims) >= 3
        other = next(c for c in ("waiting", "broken_flow") if c != card["pain_point"])
        choices = {d: "accept" for d in dims} | {"pain_point": other}
        decide_card(s, card["excerpt_id"], choices, coder="ana", memo="checked")
        mine = _humans(s)
        assert set(mine["excerpt_id"]) == {card["excerpt_id"]}
        accepted = mine[mine["status"] == "accepted"].groupby("dimension")["code_id"].agg(set).to_dict()
        # accepting a dimension takes its code and the codes its coder also suggested there (several emotions)
        assert accepted == {d: {other} if d == "pain_point" else {card[d], *card[f"{d}_also_codes"]} for d in dims}
        assert list(mine.loc[mine["status"] == "rejected", "code_id"]) == [card["pain_point"]]   # the recode's reject
        assert card["excerpt_id"] not in set(review_cards(s, context=False)["excerpt_id"])
        # re-deciding replaces the coder's earlier answer: no second code in that dimension
        decide_card(s, card["excerpt_id"], {"pain_point": NO_CODE}, coder="ana")
        pain = _humans(s).query("dimension == 'pain_point'")
        assert list(zip(pain["code_id"], pain["status"])) == [(card["pain_point"], "rejected")]
        mine = len(_humans(s))
        assert undo_card(s, card["excerpt_id"], dims, coder="ana") == mine >= len(dims)
        assert _humans(s).empty and card["excerpt_id"] in set(card_queue(s)["excerpt_id"])


def test_a_card_is_all_or_nothing(sample, monkeypatch):
    with Store.open(sample) as s:
        card = review_cards(s, limit=1).iloc[0]
        first, second = card["dimensions"][:2]
        with pytest.raises(InputError, match=rf"Unknown {second} code 'no_such_code'\. Valid {second} codes: .+"):
            decide_card(s, card["excerpt_id"], {first: "accept", second: "no_such_code"}, coder="ana")
        assert _humans(s).empty
        with pytest.raises(InputError, match="has no actor suggestion"):
            decide_card(s, card["excerpt_id"], {first: "accept", "actor": "support"}, coder="ana")
        # a failure while writing the second dimension rolls back the first one too
        real, calls = Store.replace_decisions, []

        def failing(self, *args, **kwargs):
            calls.append(args)
            if len(calls) == 2:
                raise RuntimeError("disk went away")
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Store, "replace_decisions", failing)
        with pytest.raises(RuntimeError, match="disk went away"):
            decide_card(s, card["excerpt_id"], {first: "accept", second: "accept"}, coder="ana")
        monkeypatch.undo()
        assert len(calls) == 2 and _humans(s).empty
    with Store.open(sample) as s:                       # another connection: nothing was committed
        assert _humans(s).empty


def test_a_machine_re_run_never_overwrites_card_decisions(sample, cli):
    with Store.open(sample) as s:
        card = review_cards(s, limit=1).iloc[0]
        first, *rest = card["dimensions"]
        decide_card(s, card["excerpt_id"], {first: "accept"}, coder="ana")
        before = _humans(s)[["excerpt_id", "dimension", "code_id", "status"]].values.tolist()
    code, _, err = cli("code", "--study", sample)
    assert code == 0, err
    with Store.open(sample) as s:
        assert _humans(s)[["excerpt_id", "dimension", "code_id", "status"]].values.tolist() == before
        again = review_cards(s, context=False).set_index("excerpt_id").loc[card["excerpt_id"]]
        assert again["dimensions"] == rest and first not in again["dimensions"]     # decided: not asked again
        assert again["decided"] == {first: card[first]}                             # but shown
        assert card_counts(s)["suggestions"] == len(review_queue(s))


def test_reject_on_a_card_rejects_every_machine_code_of_that_dimension(tmp_path, study):
    p = write(tmp_path / "p.txt", "Interviewer: How was it?\nP1: The selfie check failed three times.\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        e = s.excerpts().query("role == 'participant'")["excerpt_id"].iloc[0]
        s.add_codings([Coding(e, "pain_point", "broken_flow", "rules@2", 0.7, "cue 'failed'"),
                       Coding(e, "pain_point", "waiting", "other@1", 0.4, "cue 'times'"),
                       Coding(e, "stage", "onboarding", "rules@2", 0.5, "cue 'selfie'")])
        card = review_cards(s).iloc[0]
        assert card["pain_point"] == "broken_flow" and card["pain_point_alternatives"] == "waiting (other@1, 0.40)"
        decide_card(s, e, {"pain_point": NO_CODE, "stage": "accept"}, coder="ana")
        c = _humans(s)
        assert sorted(zip(c["dimension"], c["code_id"], c["status"])) == [
            ("pain_point", "broken_flow", "rejected"), ("pain_point", "waiting", "rejected"), ("stage", "onboarding", "accepted")]
        assert review_cards(s).empty and review_summary(s) == "Nothing left to review."
        # the one-dimension queue and its decide() still work beside the cards
        undo_card(s, e, ["pain_point"], coder="ana")
        item = review_queue(s).iloc[0]
        decide(s, item, "accept", coder="ben")
        assert review_queue(s).empty


def test_card_quotes_are_escaped(tmp_path, study):
    p = write(tmp_path / "x.txt", f"Interviewer: hi\nP1: {XSS} the app failed\n")
    with Store.open(study) as s:
        ingest_paths(s, [p], progress=False)
        e = s.excerpts().query("role == 'participant'")["excerpt_id"].iloc[0]
        s.add_codings([Coding(e, "pain_point", "broken_flow", "rules@2", 0.6, f"cue {XSS}"),
                       Coding(e, "stage", "usage", "rules@2", 0.5, "cue 'app'")])
    panel = ReviewPanel(study, coder="ana")
    html = panel.cards.children[0].children[0].value + "".join(
        r.children[1].value for r in panel.cards.children[0].children[1:3])
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert XSS in panel.page.iloc[0]["text"]
    panel.close()


def test_the_panel_card_shows_every_dimension_of_one_excerpt(sample):
    panel = ReviewPanel(sample, coder="ana", page_size=4)
    with Store.open(sample) as s:
        n = len(review_queue(s))          # one row per excerpt and dimension: what the panel used to show as cards
    assert f"816 excerpts to review ({n:,} suggestions)" in panel.progress.value and n > 2 * 816
    assert len(panel.cards.children) == 4 and panel.page["excerpt_id"].is_unique
    with Store.open(sample) as s:
        queue = review_queue(s)
    for i, card in enumerate(panel.cards.children):
        excerpt = panel.page.iloc[i]["excerpt_id"]
        dims = set(queue.loc[queue["excerpt_id"] == excerpt, "dimension"])
        assert set(card.choices) == dims
        for dim, choice in card.choices.items():
            assert choice.value == panel.page.iloc[i][dim] and NO_CODE in choice.options
            assert set(panel.codes[dim]) <= set(choice.options)
    # Accept all saves what the dropdowns show: a changed dropdown is a recode
    card = panel.cards.children[0]
    first = panel.page.iloc[0]
    new_stage = next(c for c in panel.codes["stage"] if c != first["stage"])
    card.choices["stage"].value = new_stage
    card.memo.value = "stage is clearer in context"
    card.buttons[0].click()                                      # Accept all
    assert "Saved" in card.result.value
    assert "815 excerpts to review" in panel.progress.value
    with Store.open(sample) as s:                                # another connection sees it: nothing buffered
        mine = _humans(s).query("status == 'accepted'")
    assert mine.groupby("dimension")["code_id"].agg(set).to_dict() == {
        d: {new_stage} if d == "stage" else {first[d], *first[f"{d}_also_codes"]} for d in first["dimensions"]}
    assert set(mine["memo"]) == {"stage is clearer in context"}
    # the headless methods: one dimension at a time, overrides, undo
    assert panel.recode(1, "waiting")
    assert panel.accept_card(2, overrides={"emotion": NO_CODE})
    assert not panel.accept_card(3, overrides={"stage": "no_such_stage"}) and "not a stage code" in \
        panel.cards.children[3].result.value
    panel.undo()
    with Store.open(sample) as s:
        assert panel.page.iloc[2]["excerpt_id"] not in set(_humans(s)["excerpt_id"])
    panel.skip(3)
    assert "Skipped" in panel.cards.children[3].result.value
    panel.load()
    assert first["excerpt_id"] not in set(panel.queue["excerpt_id"]) and len(panel.queue) == 815
    panel.dimension.value = "pain_point"
    assert all(d == ["pain_point"] for d in panel.page["dimensions"])
    panel.next_button.click()
    assert panel.page_no == 1
    panel.close()


def _pandas_cards(s: Store, order: str = "uncertainty"):
    """The card order computed in pandas from every suggestion (all dimensions named: the array path)."""
    from workbench.model import DIMENSIONS
    return card_queue(s, order=order, dimensions=list(DIMENSIONS))


def test_cards_kept_in_sql_match_the_array_computation_through_decisions_and_undo(sample):
    from workbench.review import CardQueue

    with Store.open(sample) as s:
        def same(order="uncertainty"):
            sql, arr = card_queue(s, order=order), _pandas_cards(s, order)
            assert list(sql["excerpt_id"]) == list(arr["excerpt_id"]), order
            assert (sql["min_confidence"] - arr["min_confidence"]).abs().max() < 1e-9
            assert (sql["mean_confidence"] - arr["mean_confidence"]).abs().max() < 1e-9
            assert list(sql["n_suggestions"]) == list(arr["n_suggestions"])
            return sql

        first = same()
        same("source")
        card = review_cards(s, limit=1).iloc[0]
        decide_card(s, card["excerpt_id"], {card["dimensions"][0]: "accept"}, coder="ana")   # a trigger marks it
        after = same()
        assert len(after) == len(first) - (len(card["dimensions"]) == 1)
        decide_card(s, card["excerpt_id"], {d: "accept" for d in card["dimensions"]}, coder="ana")
        assert card["excerpt_id"] not in set(same()["excerpt_id"])
        undo_card(s, card["excerpt_id"], card["dimensions"], coder="ana")
        assert card["excerpt_id"] in set(same()["excerpt_id"])
        # the lazy queue pages the same order without loading it
        q = CardQueue(s)
        assert len(q) == len(first)
        assert list(q.rows(3, 8)["excerpt_id"]) == list(first["excerpt_id"].iloc[3:8])


def test_an_excerpt_keeps_every_emotion_the_coder_found_on_the_map_and_on_its_card(sample):
    from workbench.journey import build_map, load_map_inputs

    with Store.open(sample) as s:
        c = s.codings().query("dimension == 'emotion'")
        per = c.groupby("excerpt_id")
        several = per.size()[per.size() > 1].index
        assert len(several) > 0                               # the sample has excerpts with more than one emotion
        assert (per["value"].count().loc[several] == 1).all()   # one valence per excerpt: the curve counts it once
        assert c[c["value"].isna()]["rationale"].str.contains("multi-label emotion head").all()
        jm = build_map(load_map_inputs(s))
        cards = review_cards(s, context=False).set_index("excerpt_id")
    e = several[0]
    extra = c[(c["excerpt_id"] == e) & c["value"].isna()]["code_id"].tolist()
    feeling = [cl for cl in jm.claims if cl.lane == "feeling" and e in cl.evidence]
    assert set(extra) <= {cl.code for cl in feeling}           # each emotion is evidence for its own claim
    card = cards.loc[e]
    assert {card["emotion"], *card["emotion_also_codes"]} == set(c[c["excerpt_id"] == e]["code_id"])
    assert card["emotion_also"] and "(" in card["emotion_also"]


def test_a_reviewer_keeps_some_of_the_emotions_and_drops_others(sample):
    with Store.open(sample) as s:
        cards = review_cards(s, context=False)
        card = cards[cards["emotion_also_codes"].map(lambda v: isinstance(v, list) and len(v) > 0)].iloc[0]
    panel = ReviewPanel(sample, coder="ana", page_size=len(cards))
    i = list(panel.page["excerpt_id"]).index(card["excerpt_id"])
    boxes = panel.cards.children[i].also["emotion"]
    assert [b.description for b in boxes] == [f"also {c}" for c in card["emotion_also_codes"]] and all(b.value for b in boxes)
    boxes[0].value = False                                    # not this one
    assert panel.accept_card(i)
    with Store.open(sample) as s:
        mine = _humans(s).query("dimension == 'emotion'")
    kept = {card["emotion"], *card["emotion_also_codes"][1:]}
    assert set(mine.loc[mine["status"] == "accepted", "code_id"]) == kept
    assert set(mine.loc[mine["status"] == "rejected", "code_id"]) == {card["emotion_also_codes"][0]}
    # the same through the headless core: several codes at once, as a list or "a; b"
    with Store.open(sample) as s:
        left = review_cards(s, context=False)
        other = left[left["dimensions"].map(lambda d: "emotion" in d)].iloc[0]
        written = decide_card(s, other["excerpt_id"], {"emotion": "joy; relief"}, coder="ben")
    assert {(c.code_id, c.status) for c in written if c.status == "accepted"} == {("joy", "accepted"), ("relief", "accepted")}
