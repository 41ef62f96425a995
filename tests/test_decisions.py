""""A human decision wins", checked in both of its renderings (arrays and the store's SQL) on random codings."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import write
from workbench import ingest_paths
from workbench.decisions import effective_codings, human_coder, undecided
from workbench.errors import InputError
from workbench.model import VOICE_ROLES, Coding
from workbench.review import review_queue
from workbench.store import Store

CODERS = ("rules@2", "emotion@1", "human:ana", "human:ben")
CODES = ("waiting", "fees", "broken_flow")
DIMS = ("pain_point", "stage")


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> tuple[Path, list[str]]:
    folder = tmp_path_factory.mktemp("decisions")
    study = folder / "study.db"
    p = write(folder / "p.txt", "".join(f"Interviewer: Question {i}?\nP1: Answer number {i} about the card.\n"
                                        for i in range(4)))
    with Store.create(study) as s:
        ingest_paths(s, [p], progress=False)
        ids = s.excerpts(roles=VOICE_ROLES)["excerpt_id"].tolist()
    return study, ids


coding = st.tuples(st.integers(0, 3), st.sampled_from(DIMS), st.sampled_from(CODES), st.sampled_from(CODERS),
                   st.sampled_from((0.2, 0.5, 0.9)), st.booleans())


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(coding, min_size=1, max_size=25))
def test_sql_and_array_renderings_of_the_rule_agree(base, tmp_path_factory, rows):
    study, ids = base
    copy = tmp_path_factory.mktemp("copy") / "study.db"
    copy.write_bytes(study.read_bytes())
    with Store.open(copy) as s:
        for e, dim, code, coder, conf, accepted in rows:
            status = ("accepted" if accepted else "rejected") if coder.startswith("human:") else "suggested"
            s.add_codings([Coding(ids[e], dim, code, coder, conf, "r", status=status)])
        codings = s.codings()
        counts = s.queue_counts(VOICE_ROLES).set_index("dimension")["to_review"].to_dict()
        queue = review_queue(s)
    # left to review: SQL (store.queue_counts) == arrays (decisions.undecided) == what the queue shows
    left = undecided(codings).groupby("dimension")["excerpt_id"].nunique().to_dict()
    assert {d: n for d, n in counts.items() if n} == left
    assert queue.groupby("dimension")["excerpt_id"].nunique().to_dict() == left
    # a machine suggestion is never stored on a decided excerpt and dimension
    human = codings[codings["coder"].str.startswith("human:")]
    machine = codings[~codings["coder"].str.startswith("human:")]
    later = [(e, d) for e, d, cid in zip(machine["excerpt_id"], machine["dimension"], machine["coding_id"])
             if any(h_e == e and h_d == d and h_id < cid for h_e, h_d, h_id in
                    zip(human["excerpt_id"], human["dimension"], human["coding_id"]))]
    assert not later
    # what counts: accepted human codings, else the most confident machine code not rejected by a human
    eff = effective_codings(codings)
    for (e, d), got in eff.groupby(["excerpt_id", "dimension"]):
        accepted = human[(human["excerpt_id"] == e) & (human["dimension"] == d) & (human["status"] == "accepted")]
        if len(accepted):
            assert set(got["code_id"]) == set(accepted["code_id"]) and not got["suggested"].any()
        else:
            rejected = set(human[(human["excerpt_id"] == e) & (human["dimension"] == d)]["code_id"])
            options = machine[(machine["excerpt_id"] == e) & (machine["dimension"] == d)
                              & ~machine["code_id"].isin(rejected)]
            assert len(got) == 1 and got["suggested"].all()
            assert got["confidence"].iloc[0] == options["confidence"].max()
    # and every excerpt and dimension with an accepted code or an unrejected suggestion is there
    expected = set(zip(human.loc[human["status"] == "accepted", "excerpt_id"], human.loc[human["status"] == "accepted", "dimension"]))
    rejected = set(zip(human.loc[human["status"] == "rejected", "excerpt_id"], human.loc[human["status"] == "rejected", "dimension"],
                       human.loc[human["status"] == "rejected", "code_id"]))
    expected |= {(e, d) for e, d, c in zip(machine["excerpt_id"], machine["dimension"], machine["code_id"]) if (e, d, c) not in rejected}
    assert set(zip(eff["excerpt_id"], eff["dimension"])) == expected


def test_human_coder_names():
    assert human_coder("ana") == human_coder("human:ana") == "human:ana"
    for blank in ("", " ", "human", "human:"):
        with pytest.raises(InputError, match="Say who decides"):
            human_coder(blank)


def test_a_coder_may_suggest_several_codes_and_they_count_together(base, tmp_path):
    study, ids = base
    copy = tmp_path / "study.db"
    copy.write_bytes(study.read_bytes())
    e = ids[0]
    with Store.open(copy) as s:
        # one run of one coder: a main emotion (with the excerpt's valence) and a further one (no value)
        s.add_codings([Coding(e, "emotion", "annoyance", "embed@1", 0.7, "main", value=-0.6),
                       Coding(e, "emotion", "nervousness", "embed@1", 0.4, "also"),
                       Coding(e, "emotion", "joy", "rules@2", 0.5, "other coder", value=0.5)])
        eff = effective_codings(s.codings())
        assert sorted(eff["code_id"]) == ["annoyance", "nervousness"]       # the winning coder's codes, both
        assert eff["value"].notna().sum() == 1
        # the coder's re-run replaces both of its earlier codes, never one of them
        s.add_codings([Coding(e, "emotion", "joy", "embed@1", 0.9, "re-run", value=0.7)])
        assert sorted(s.codings().query("coder == 'embed@1'")["code_id"]) == ["joy"]
        s.add_codings([Coding(e, "emotion", "annoyance", "embed@1", 0.7, "main", value=-0.6),
                       Coding(e, "emotion", "nervousness", "embed@1", 0.4, "also")])
        # a human rejecting one of them leaves the other counting; accepting settles the set
        s.add_codings([Coding(e, "emotion", "nervousness", "human:ana", 1.0, "no", "rejected")])
        assert list(effective_codings(s.codings())["code_id"]) == ["annoyance"]
        s.add_codings([Coding(e, "emotion", "disappointment", "human:ana", 1.0, "yes", "accepted")])
        eff = effective_codings(s.codings())
        assert list(eff["code_id"]) == ["disappointment"] and not eff["suggested"].any()
