"""The notebook panels, driven headless through the same methods their buttons call."""
from __future__ import annotations

import shutil

import pytest

from conftest import CORPORA, write
from workbench.demo import sample_study
from workbench.store import Store
from workbench.widgets import AgreementPanel, CodebookPanel, IngestPanel, MapExplorer, ReviewPanel

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def coded(tmp_path_factory):
    return sample_study(tmp_path_factory.mktemp("sample") / "study.db", CORPORA)


@pytest.fixture
def study(coded, tmp_path):
    path = tmp_path / "study.db"
    shutil.copy(coded, path)
    return path


def test_ingest_panel_previews_turns_then_imports_with_progress(tmp_path):
    panel = IngestPanel(tmp_path / "new.db", paths=CORPORA / "interviews", segment="pilot")
    turns = panel.preview()
    assert "Moderator" in set(turns["speaker"]) or "Entrevistador" in set(turns["speaker"])
    assert "<table" in panel.table.value and not (tmp_path / "new.db").exists()   # preview stores nothing
    reports = panel.import_files()
    with Store.open(tmp_path / "new.db") as s:
        assert set(s.sources()["segment"]) == {"pilot"}
        assert panel.progress.value == panel.progress.max == len(s.sources()) == len(reports) > 0
    panel.paths.value = str(tmp_path / "missing_folder")
    panel.preview_button.click()
    assert "wb-error" in panel.status.value and "missing_folder" in panel.status.value


def test_ingest_panel_escapes_quotes_and_names_bad_files(tmp_path):
    f = write(tmp_path / "x.txt", f"Interviewer: hi\nP1: {XSS}\n")
    (tmp_path / "bad.docx").write_bytes(b"PK\x03\x04 broken")
    panel = IngestPanel(tmp_path / "s.db", paths=[f, tmp_path / "bad.docx"])
    panel.preview()
    assert "<script>" not in panel.table.value and "&lt;script&gt;" in panel.table.value
    assert "bad.docx" in panel.status.value and "wb-error" in panel.status.value
    # importing the same selection is all-or-nothing, as on the command line: the good file waits too
    assert panel.import_files() == []
    assert "bad.docx" in panel.status.value and "Nothing was imported" in panel.status.value
    with Store.open(tmp_path / "s.db") as s:
        assert s.counts()["sources"] == 0


def test_ingest_panel_notes_what_a_study_folder_sets_aside(tmp_path):
    panel = IngestPanel(tmp_path / "s.db", paths=CORPORA)
    panel.preview()
    assert "gold_excerpts.csv: a coding or gold sheet" in panel.status.value
    assert "metadata.csv as metadata" in panel.status.value and "wb-error" not in panel.status.value


def test_review_panel_decisions_are_saved_at_once(study):
    panel = ReviewPanel(study, coder="ana", page_size=5)
    assert len(panel.page) == 5 and len(panel.cards.children) == 5
    first, second = panel.page.iloc[0], panel.page.iloc[1]
    panel.cards.children[0].memo.value = "clearly a wait"
    panel.cards.children[0].buttons[0].click()                      # Accept all
    new_code = next(c for c in panel.codes["pain_point"] if c != second["pain_point"])
    panel.recode(1, new_code, dimension="pain_point")
    assert "Saved" in panel.cards.children[0].result.value
    with Store.open(study) as s:                                     # another connection sees it: nothing buffered
        mine = s.codings().query("coder == 'human:ana'")
    row = mine[(mine["excerpt_id"] == first["excerpt_id"]) & (mine["status"] == "accepted")]
    # every dimension as shown, with the codes its coder also suggested there (ticked by default)
    assert sorted(zip(row["dimension"], row["code_id"])) == sorted(
        (d, c) for d in first["dimensions"] for c in [first[d], *first[f"{d}_also_codes"]])
    assert set(row["memo"]) == {"clearly a wait"}
    # a recode is two decisions, both stored: the suggestion rejected and the new code accepted
    recoded = mine[(mine["excerpt_id"] == second["excerpt_id"]) & (mine["dimension"] == "pain_point")]
    assert sorted(zip(recoded["status"], recoded["code_id"])) == [("accepted", new_code), ("rejected", second["pain_point"])]
    before = len(panel.queue)
    panel.load()
    assert len(panel.queue) == before - 1                           # the first card is done, the second half done
    assert second["excerpt_id"] in set(panel.queue["excerpt_id"])
    panel.dimension.value = "pain_point"
    assert {d for ds in panel.page["dimensions"] for d in ds} == {"pain_point"}
    panel.next_button.click()
    assert panel.page_no == 1
    panel.close()


def test_map_explorer_cell_quotes_and_export(study, tmp_path):
    panel = MapExplorer(study)
    claim = next(c for c in panel.map.claims if c.lane == "pain_points")
    quotes = panel.show_cell(claim.stage, claim.lane)
    shown = quotes[quotes["claim_id"] == claim.claim_id]
    order = {e: i for i, e in enumerate(claim.evidence)}
    assert shown["excerpt_id"].iloc[0] == claim.evidence[0]                   # the most telling quote leads
    assert sorted(shown["excerpt_id"], key=order.get) == list(shown["excerpt_id"])      # in evidence order
    assert shown.iloc[0]["quote"][:20] in panel.quotes.value.replace("&#x27;", "'").replace("&quot;", '"')
    segment = panel.segment.options[1][1]
    panel.segment.value = segment
    assert panel.map.segment == segment
    files = panel.export(tmp_path / "exp")
    assert {"report.html", "map.png", "claims.csv"} <= set(files)


def test_codebook_panel_edits_validates_and_saves(tmp_path, study):
    panel = CodebookPanel("pain_points", study=study)
    panel.code.value = "waiting"
    panel.cues["es"].value = "sigo esperando; llevo días"
    panel.save_code()
    assert panel.codebook.get("waiting").cues["es"] == ("sigo esperando", "llevo días")
    panel.add("late_refund", "Late refund", "A refund arrives later than promised.")
    assert panel.code.value == "late_refund"
    panel.new_id.value, panel.new_label.value, panel.new_definition.value = "Bad Id", "x", "y"
    panel.add_button.click()
    assert "lower-case" in panel.status.value and "Bad Id" not in {c.code_id for c in panel.codebook.codes}
    panel.merge("waiting", "late_refund")
    path = panel.save(tmp_path / "mine.yaml")
    assert "late_refund" not in path.read_text()
    panel.load("awareness_advocacy")
    panel.use_as_stage_model()
    with Store.open(study) as s:
        assert s.info()["coding.stage_model"] == "awareness_advocacy"


def test_agreement_panel_compares_two_coders(study):
    with Store.open(study) as s:
        q = s.codings().query("dimension == 'stage'").head(6)
        from workbench.model import Coding
        s.add_codings([Coding(e, "stage", c, "human:ana", status="accepted") for e, c in zip(q["excerpt_id"], q["code_id"])])
    panel = AgreementPanel(study, coder_a="human:ana", coder_b=sorted(set(q["coder"]))[0], dimension="stage")
    cmp = panel.compare()
    assert cmp.report.n == 6 and cmp.report.accuracy == 1.0 and "kappa" in panel.result.value


def test_map_explorer_reacts_to_chart_selections_like_a_click(study):
    """What the browser sends when a cell or a curve point is clicked (the Vega selection signal)."""
    panel = MapExplorer(study)
    claim = next(c for c in panel.map.claims if c.lane == "feeling")
    panel.grid._vl_selections = {"cell": {"value": {"vlPoint": {"or": [{"stage": claim.stage, "lane": "feeling"}]}},
                                          "store": []}}
    assert claim.text in panel.quotes.value and "characters" in panel.quotes.value
    point = next(p for p in panel.map.curve if p.n >= 2)
    panel.curve._vl_selections = {"point": {"value": {"vlPoint": {"or": [{"stage": point.stage, "segment": "all"}]}},
                                            "store": []}}
    assert f"n={point.n}" in panel.quotes.value
    assert panel.map.quote(point.evidence[0])[:30] in panel.quotes.value.replace("&#x27;", "'").replace("&quot;", '"')
    with pytest.raises(KeyError, match="No stage"):
        panel.show_point("nowhere")


def test_map_explorer_shows_quotes_from_as_many_participants_as_it_can(study):
    """A talkative caller at the top of a claim does not fill the sample: one quote per participant first."""
    from workbench.widgets.explorer import QUOTES_SHOWN
    panel = MapExplorer(study)
    jm = panel.map
    claim = max((c for c in jm.claims if c.n_excerpts > c.n_participants >= 2), key=lambda c: c.n_excerpts)
    people = jm.evidence_rows(claim.evidence)["participant"].tolist()
    first_k = people[:QUOTES_SHOWN]
    quotes = panel.show_cell(claim.stage, claim.lane)
    shown = quotes[quotes["claim_id"] == claim.claim_id]
    assert len(shown) == min(QUOTES_SHOWN, claim.n_excerpts)
    assert shown["participant"].nunique() == min(QUOTES_SHOWN, claim.n_participants) >= len(set(first_k))
    assert f"{len(shown)} of {claim.n_excerpts:,} quotes shown" in panel.quotes.value or claim.n_excerpts <= QUOTES_SHOWN
    assert jm.sample(claim.evidence, QUOTES_SHOWN) == shown["excerpt_id"].tolist()      # the same map, the same sample
    # one participant only: the sample fills up with that participant's next excerpts, in order
    one = jm.evidence_rows(claim.evidence)
    solo = one.loc[one["participant"] == one["participant"].iloc[0], "excerpt_id"].tolist()
    assert jm.sample(solo, 3) == solo[:3]


def _romanian_and_english_study(tmp_path):
    """A Romanian interview and an English one, coded without the embedding coder: no coder covers stage in ro."""
    from workbench.coding.run import code_study, default_coder
    from workbench.pipeline import ingest_paths

    path = tmp_path / "study.db"
    Store.create(path).close()
    p = write(tmp_path / "interviu.txt", "Intervievator: Și cardul?\n"
              "Ana: Am așteptat trei săptămâni cardul și nimeni nu mi-a răspuns la telefon.\n"
              "Intervievator: Ce ați făcut?\nAna: Am sunat de cinci ori la bancă și am închis contul.\n")
    e = write(tmp_path / "p.txt", "Interviewer: And the card?\nP1: I waited three weeks and nobody answered the phone.\n")
    with Store.open(path) as s:
        ingest_paths(s, [p, e], progress=False)
        code_study(s, default_coder(emotion="model", embed="off"))
    return path


def test_review_panel_says_which_languages_no_coder_covers(tmp_path):
    path = _romanian_and_english_study(tmp_path)
    panel = ReviewPanel(path, coder="ana", page_size=5)
    assert "2 excerpts in Romanian (ro): no coder covers stage" in panel.languages.value
    assert set(panel.page["excerpt_id"]) <= {r for r in panel.queue["excerpt_id"]} and len(panel.queue) == 1
    panel.close()


def test_map_explorer_labels_the_map_in_the_language_the_researcher_picks(study):
    """The explorer's `Labels` choice is `workbench map --label-language`: codes carry their Romanian label."""
    from workbench.codebook import resolve
    pains = resolve("pain_points")
    panel = MapExplorer(study)
    assert "ro" in [v for _, v in panel.labels.options]
    before = next(c for c in panel.map.claims if c.lane == "pain_points" and pains.get(c.code).labels.get("ro"))
    assert before.text == pains.get(before.code).label
    panel.labels.value = "ro"
    after = next(c for c in panel.map.claims if c.claim_id == before.claim_id)
    assert after.text == pains.get(before.code).labels["ro"] and after.evidence == before.evidence
    from html import escape
    assert not panel.show_cell(after.stage, "pain_points").empty and f"<b>{escape(after.text)}</b>" in panel.quotes.value


def test_excerpts_no_coder_covers_are_coded_by_hand_from_their_own_cards(tmp_path):
    from workbench.errors import InputError
    from workbench.review import NO_CODE, decide_card, uncovered, uncovered_cards

    path = _romanian_and_english_study(tmp_path)
    with Store.open(path) as s:
        todo = uncovered(s)
        assert list(todo["language"]) == ["ro", "ro"] and all("stage" in d for d in todo["dimensions"])
        cards = uncovered_cards(s, context=False)
        assert list(cards["stage"]) == [NO_CODE, NO_CODE] and "no coder covers stage in ro" in cards["stage_rationale"][0]
        with pytest.raises(InputError, match=r"Unknown stage code 'no_such' \(nothing was suggested: no coder covers stage"):
            decide_card(s, todo["excerpt_id"][0], {"stage": "no_such"}, coder="ana")
    panel = ReviewPanel(path, coder="ana", page_size=5)
    assert "2 excerpts to code by hand" in panel.languages.value
    panel.mode.value = "hand"
    assert len(panel.queue) == 2 and list(panel.page["excerpt_id"]) == list(todo["excerpt_id"])
    stage = panel.codes["stage"][1]
    assert not panel.accept_card(0)                              # every dimension left at (none): nothing to save
    assert "pick a code" in panel.cards.children[0].result.value
    assert panel.accept_card(0, overrides={"stage": stage})
    with Store.open(path) as s:
        mine = s.codings().query("coder == 'human:ana'")
        assert list(zip(mine["excerpt_id"], mine["dimension"], mine["code_id"], mine["status"])) == \
            [(todo["excerpt_id"][0], "stage", stage, "accepted")]
        assert "coded by hand (no coder covers stage in ro)" in mine["rationale"].iloc[0]
        left = uncovered(s)
        assert "stage" not in left.set_index("excerpt_id").loc[todo["excerpt_id"][0], "dimensions"]
    assert panel.undo()
    with Store.open(path) as s:
        assert s.codings().query("coder == 'human:ana'").empty and len(uncovered(s)) == 2
    panel.close()
