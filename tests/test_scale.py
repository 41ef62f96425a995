"""Large studies: coding each distinct text once gives exactly the codes of coding every excerpt
(contact-centre logs repeat the same turns), and storing a large coding run is one bulk write."""
from __future__ import annotations

import random


import workbench.coding.base as base
from workbench.coding.run import code_study, default_coder
from workbench.pipeline import ingest_paths
from workbench.store import Store

POOL = ["Still no card, day 12.", "Thanks, that fixed it!", "OK.", "Why was I charged 5 euros? Nobody told me.",
        "La app se cierra al hacer el selfie.", "Vale, gracias.", "I called three times and had to explain it again.",
        "@United lost my bag at the airport", "", "The branch was closed when I went to sign.", "¿Cuándo llega la tarjeta?"]


def _key(s):
    return None if s is None else (s.dimension, s.code_id, s.coder, s.confidence, s.rationale, s.value, s.alternatives,
                                   getattr(s, "detail", None))


def test_coding_distinct_texts_once_gives_the_same_codes_as_coding_every_excerpt(tmp_path, monkeypatch):
    rng = random.Random(1)
    texts = [rng.choice(POOL) + ("" if rng.random() < 0.8 else f" ref {rng.randint(1, 50)}") for _ in range(2500)]
    contexts = [rng.choice(["", "How did opening the account go?", "¿Y la tarjeta?"]) for _ in texts]
    groups = [str(i // 7) for i in range(len(texts))]
    with Store.create(tmp_path / "cache.db") as cache:
        coder = default_coder(emotion="model", embed="auto", cache=cache)
        assert [c.id.split("@")[0] for c in coder.coders] == ["rules", "emotion", "embed"]    # set up by scripts/setup.sh
        assert base.Chain._worth_deduplicating(texts)
        deduped = coder.code(texts, contexts, groups)
        monkeypatch.setattr(base, "DEDUPE_MIN", 10 ** 9)
        assert not base.Chain._worth_deduplicating(texts)
        plain = coder.code(texts, contexts, groups)
    assert set(deduped) == set(plain) and "stage" in plain
    for dim in plain:
        assert [_key(s) for s in deduped[dim]] == [_key(s) for s in plain[dim]], dim
    # the stage still follows each conversation: the same text gets different stages in different places
    by_text = {}
    for t, s in zip(texts, deduped["stage"]):
        by_text.setdefault(t, set()).add(s.code_id)
    assert any(len(v) > 1 for v in by_text.values())


def test_a_recode_stored_in_bulk_replaces_suggestions_and_keeps_human_decisions(tmp_path, monkeypatch):
    from conftest import write
    from workbench.coding import run
    from workbench.model import Coding

    monkeypatch.setattr(run, "STORE_CHUNK", 3)          # several chunks even on a small study
    lines = []
    for i in range(6):
        lines += [f"Interviewer: And then, part {i}?", f"Sam: {POOL[i % len(POOL)] or 'Hmm.'} I waited {i + 2} days."]
    p = write(tmp_path / "p.txt", "\n".join(lines) + "\n")
    with Store.create(tmp_path / "s.db") as s:
        ingest_paths(s, [p], progress=False)
        _, first = code_study(s, default_coder(), details=False)
        target = s.excerpts(roles=("participant",))["excerpt_id"].iloc[0]
        before = s.codings()
        s.add_codings([Coding(target, "pain_point", "waiting", "human:ana", status="accepted")])
        _, again = code_study(s, default_coder(), details=False)
        c = s.codings()
    machine = c[~c["coder"].str.startswith("human:")]
    assert not machine.duplicated(["excerpt_id", "dimension"]).any()      # the re-run replaced, never added
    assert again == first - 1                                              # the decided pain point takes no suggestion
    # under the human decision the suggestion it was made on stays as it was (the same row); no new one came
    there = machine[(machine["excerpt_id"] == target) & (machine["dimension"] == "pain_point")]
    was = before[(before["excerpt_id"] == target) & (before["dimension"] == "pain_point")]
    assert list(there["coding_id"]) == list(was["coding_id"]) and len(there) == 1
    assert len(c[c["coder"] == "human:ana"]) == 1
