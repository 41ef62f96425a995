"""Stakeholder comments on map claims: added and listed by claim and time, shown escaped in report.html (appendix
and panel data) and the notebook's map explorer, exported as REFI-QDA notes that validate, and the report's
JSON download imported back all-or-nothing: the same file twice adds nothing, an unknown claim imports nothing
and is named, a malformed file gives one line that says what to do and leaves the study as it was."""
from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from conftest import file_digest
from test_report import build_report
from workbench.codebook import builtin_path
from workbench.comments import (FORMAT, add_comment, comments_document, for_report, import_comments, known_claim_ids,
                                list_comments, read_comments_file)
from workbench.errors import InputError
from workbench.refi import NS, export_qdpx, validate
from workbench.report import write_report
from workbench.store import Store

Q = f"{{{NS}}}"
SCRIPT = '<script>alert("comment")</script> & "quotes"'


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The report test's hostile study, with its stage model stored (so `workbench map` maps it), and its map."""
    tmp = tmp_path_factory.mktemp("comments")
    jm, _ = build_report(tmp, images=False)
    with Store.open(tmp / "study.db") as s:
        s.set_info({"coding.stage_model_yaml": builtin_path("awareness_advocacy").read_text(encoding="utf-8")})
    return jm, tmp / "study.db"


@pytest.fixture
def mapped(built, tmp_path):
    jm, study = built
    path = tmp_path / "study.db"
    shutil.copy(study, path)
    return jm, path


def _claim(jm, lane="pain_points"):
    return max((c for c in jm.claims if c.lane == lane), key=lambda c: (c.n_participants, c.n_excerpts))


def _file(path: Path, comments: list[dict], study: str = "x") -> Path:
    path.write_text(json.dumps({"format": FORMAT, "version": 1, "study": study, "comments": comments}), encoding="utf-8")
    return path


def test_add_and_list_by_claim_then_time(mapped):
    jm, study = mapped
    a, b = _claim(jm), _claim(jm, "touchpoints")
    with Store.open(study) as s:
        late = add_comment(s, a.claim_id, "Second thought.", "ana", created="2024-05-02T10:00:00Z")
        early = add_comment(s, a.claim_id, "We see this in the branch too.", "luis", created="2024-05-01T08:00:00+02:00")
        on_quote = add_comment(s, a.claim_id, "This caller is a repeat case.", "ana", excerpt_id=a.evidence[0],
                               created="2024-05-01T09:00:00Z")
        other = add_comment(s, b.claim_id, "Channel owner: web team.", "ana", created="2024-04-01T00:00:00Z")
        assert add_comment(s, a.claim_id, "Second thought.", "ana", created="2024-05-02T10:00:00Z") == late   # same: once
        df = list_comments(s)
        ours = [early, on_quote, late]                  # by time: 06:00 UTC (08:00+02:00), 09:00, the next day
        assert df["comment_id"].tolist() == (ours + [other] if a.claim_id < b.claim_id else [other] + ours)
        assert df.set_index("comment_id").at[early, "created"] == "2024-05-01T06:00:00Z"      # stored in UTC
        one = list_comments(s, a.claim_id)
        assert one["comment_id"].tolist() == [early, on_quote, late]
        assert one.set_index("comment_id").at[on_quote, "excerpt_id"] == a.evidence[0]
        assert set(one["origin"]) == {"cli"}
        for bad, message in ((dict(text="  "), "text is empty"), (dict(author=""), "author is empty"),
                             (dict(excerpt_id="S0-nope"), "not excerpts of"), (dict(created="yesterday"), "ISO 8601")):
            with pytest.raises(InputError, match=message):
                add_comment(s, **{"claim_id": a.claim_id, "text": "x", "author": "ana", **bad})
        assert len(list_comments(s)) == 4


def test_import_round_trip_then_reimport_adds_nothing(mapped, tmp_path):
    jm, study = mapped
    a, b = _claim(jm), _claim(jm, "feeling")
    comments = [
        {"claim_id": a.claim_id, "excerpt_id": None, "author": "Maria (ops)", "created": "2024-05-01T09:30:00.123Z",
         "text": "Matches the complaints log."},
        {"claim_id": a.claim_id, "excerpt_id": a.evidence[0], "author": "Maria (ops)", "created": "2024-05-01T09:31:00Z",
         "text": "Line 1\nLine 2"},
        {"claim_id": b.claim_id, "author": "Tom", "created": "2024-05-01T09:32:00Z", "text": SCRIPT},   # excerpt_id optional
    ]
    path = _file(tmp_path / "comments.json", comments, jm.study)
    with Store.open(study) as s:
        summary = import_comments(s, path)
        assert (summary.added, summary.existing) == (3, 0) and not summary.notes
        assert "3 added, 0 already in the study" in str(summary)
        df = list_comments(s)
        assert set(df["origin"]) == {"report"}
        got = df.set_index("text")
        assert got.at["Matches the complaints log.", "created"] == "2024-05-01T09:30:00Z"
        assert got.at["Line 1\nLine 2", "excerpt_id"] == a.evidence[0] and got.at[SCRIPT, "claim_id"] == b.claim_id
        again = import_comments(s, path)
        assert (again.added, again.existing) == (0, 3) and len(list_comments(s)) == 3
        # what the study holds, written in the same format, reads back as the same comments
        doc = tmp_path / "back.json"
        doc.write_text(json.dumps(comments_document(jm.study, list_comments(s))), encoding="utf-8")
        assert import_comments(s, doc).added == 0
    assert sorted(c["text"] for c in read_comments_file(doc)) == sorted(c["text"] for c in comments)


def test_known_claims_are_the_maps_and_the_snapshots(mapped):
    jm, study = mapped
    with Store.open(study) as s:
        known = known_claim_ids(s)
        assert {c.claim_id for c in jm.claims if c.claim_id != "purchase.thinking.long-quote"} <= known
        assert "old.pain_points.gone" not in known
        with s.transaction() as con:
            con.execute("INSERT INTO map_snapshots VALUES (?, ?, ?)",
                        ("2023-Q4", "2024-01-01T00:00:00Z", json.dumps({"claims": [{"claim_id": "old.pain_points.gone"}]})))
        assert "old.pain_points.gone" in known_claim_ids(s)


def test_an_unknown_claim_imports_nothing_and_is_named(mapped, tmp_path):
    jm, study = mapped
    good = {"claim_id": _claim(jm).claim_id, "excerpt_id": None, "author": "ana", "created": "2024-05-01T09:30:00Z",
            "text": "Fine."}
    path = _file(tmp_path / "comments.json", [good, {**good, "claim_id": "nowhere.pain_points.ghost", "text": "Lost."}])
    with Store.open(study) as s:
        before = s.con.execute("SELECT count(*) FROM comments").fetchone()[0]
        with pytest.raises(InputError) as err:
            import_comments(s, path)
        assert "nowhere.pain_points.ghost" in str(err.value) and "nothing was imported" in str(err.value)
        assert "\n" not in str(err.value)
        assert s.con.execute("SELECT count(*) FROM comments").fetchone()[0] == before == 0
        # a quote that is not one of the study's excerpts: the same
        path = _file(tmp_path / "q.json", [good, {**good, "excerpt_id": "Snope-00001"}])
        with pytest.raises(InputError, match="Snope-00001.*nothing was imported"):
            import_comments(s, path)
        assert len(list_comments(s)) == 0
        # given known claims are used as they are
        assert import_comments(s, _file(tmp_path / "k.json", [good]), known_claims={good["claim_id"]}).added == 1


GOOD = {"claim_id": "a.b.c", "excerpt_id": None, "author": "ana", "created": "2024-05-01T09:30:00Z", "text": "ok"}
MALFORMED = [
    ("not json", b"{comments: oops", "is not JSON"),
    ("not utf-8", b"\xff\xfe\x00{", "not UTF-8"),
    ("a list", b"[]", "not a comments file"),
    ("other format", json.dumps({"format": "x", "version": 1, "comments": []}).encode(), "not a comments file"),
    ("version", json.dumps({"format": FORMAT, "version": 9, "comments": []}).encode(), "version 9"),
    ("comments not a list", json.dumps({"format": FORMAT, "version": 1, "comments": {}}).encode(), "must be a list"),
    ("comment not an object", json.dumps({"format": FORMAT, "version": 1, "comments": ["hi"]}).encode(), "comment 1"),
    ("missing fields", json.dumps({"format": FORMAT, "version": 1, "comments": [GOOD, {"claim_id": "a.b.c"}]}).encode(),
     "comment 2: missing author, created, text"),
    ("empty text", json.dumps({"format": FORMAT, "version": 1, "comments": [{**GOOD, "text": " "}]}).encode(), "text is empty"),
    ("text too long", json.dumps({"format": FORMAT, "version": 1, "comments": [{**GOOD, "text": "x" * 10_001}]}).encode(),
     "10,001 characters; at most 10,000"),
    ("number as text", json.dumps({"format": FORMAT, "version": 1, "comments": [{**GOOD, "text": 5}]}).encode(),
     "text must be text"),
    ("bad time", json.dumps({"format": FORMAT, "version": 1, "comments": [{**GOOD, "created": "01/05/2024"}]}).encode(),
     "not an ISO 8601 time"),
    ("no time zone", json.dumps({"format": FORMAT, "version": 1, "comments": [{**GOOD, "created": "2024-05-01T09:30:00"}]}
                                ).encode(), "no time zone"),
    ("too big", json.dumps({"format": FORMAT, "version": 1, "comments": [GOOD] * 60_000}).encode(), "too big"),
]


@pytest.mark.parametrize("name,data,message", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_files_give_one_line_and_leave_the_study_unchanged(mapped, tmp_path, name, data, message):
    _, study = mapped
    path = tmp_path / "comments.json"
    path.write_bytes(data)
    digest = file_digest(study)
    with Store.open(study) as s:
        with pytest.raises(InputError) as err:
            import_comments(s, path, known_claims={"a.b.c"})
    text = str(err.value)
    assert message in text and "\n" not in text and str(path) in text
    assert file_digest(study) == digest


def test_a_missing_file_or_a_folder_is_named(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_comments_file(tmp_path / "missing.json")
    with pytest.raises(InputError, match="is a folder"):
        read_comments_file(tmp_path)


def test_comments_appear_escaped_in_the_report(mapped, tmp_path):
    jm, study = mapped
    a = _claim(jm)
    with Store.open(study) as s:
        add_comment(s, a.claim_id, SCRIPT, 'Eve <b>x</b>', created="2024-05-01T09:30:00Z")
        add_comment(s, a.claim_id, "On this quote.", "ana", excerpt_id=a.evidence[0], created="2024-05-01T10:00:00Z")
        add_comment(s, "other.pain_points.elsewhere", "Not on this map.", "ana", created="2024-05-01T10:00:00Z")
        comments = for_report(s)
    write_report(jm, tmp_path / "rep", images=False, comments=comments)
    html = (tmp_path / "rep" / "report.html").read_text(encoding="utf-8")
    body = html.split("</head>", 1)[1]
    assert '<script>alert("comment")' not in body and "<b>x</b>" not in body
    assert html.count("</script>") == 4
    section = re.search(rf'<section class="claim" id="ev-{re.escape(a.claim_id)}">(.*?)</section>', body, re.S).group(1)
    assert "&lt;script&gt;alert(&quot;comment&quot;)&lt;/script&gt; &amp; &quot;quotes&quot;" in section
    assert "Eve &lt;b&gt;x&lt;/b&gt; · 2024-05-01 09:30 UTC" in section
    quote = section.split(f'id="q-{a.claim_id}-{a.evidence[0]}"', 1)[1].split("<blockquote", 1)[0]
    assert "On this quote." in quote                                   # under its quote
    data = json.loads(re.search(r'<script type="application/json" id="map-data">(.*?)</script>', html, re.S).group(1))
    assert [k["text"] for k in data["comments"][a.claim_id]] == [SCRIPT, "On this quote."]
    assert data["comments"][a.claim_id][1]["excerpt_id"] == a.evidence[0] and data["study"] == jm.study
    assert "other.pain_points.elsewhere" not in data["comments"] and "Not on this map." not in html
    assert 'id="comments-download"' in body and "Download comments (JSON)" in body
    # without comments the report still has the form's tools and no comment
    write_report(jm, tmp_path / "bare", images=False)
    bare = (tmp_path / "bare" / "report.html").read_text(encoding="utf-8")
    assert 'class="comments"' not in bare and '"comments":{}' in bare


def test_refi_export_holds_comments_as_notes_and_validates(mapped, tmp_path):
    jm, study = mapped
    a = _claim(jm)
    with Store.open(study) as s:
        on_claim = add_comment(s, a.claim_id, SCRIPT, "Maria", created="2024-05-01T09:30:00Z")
        add_comment(s, a.claim_id, "On this quote.", "ana", excerpt_id=a.evidence[0], created="2024-05-01T10:00:00Z")
        out = export_qdpx(s, tmp_path / "study.qdpx")
        again = export_qdpx(s, tmp_path / "again.qdpx")
    assert out.read_bytes() == again.read_bytes()                  # still reproducible
    with zipfile.ZipFile(out) as z:
        qde = z.read("project.qde")
    validate(qde)
    root = ET.fromstring(qde)
    users = {u.get("guid"): u for u in root.iter(f"{Q}User")}
    notes = {n.get("guid"): n for n in root.iter(f"{Q}Note")}
    mine = [n for n in notes.values() if (n.findtext(f"{Q}PlainTextContent") or "").startswith(f"[comment on {a.claim_id}]")]
    assert len(mine) == 2
    claim_note = next(n for n in mine if SCRIPT in n.findtext(f"{Q}PlainTextContent"))
    assert claim_note.findtext(f"{Q}PlainTextContent") == f"[comment on {a.claim_id}] {SCRIPT}"
    assert users[claim_note.get("creatingUser")].get("name") == "Maria"
    assert users[claim_note.get("creatingUser")].get("id") == "human:Maria"
    assert claim_note.get("creationDateTime") == "2024-05-01T09:30:00Z" and on_claim
    quote_note = next(n for n in mine if n is not claim_note)
    sel = next(x for x in root.iter(f"{Q}PlainTextSelection") if x.get("name") == a.evidence[0])
    assert quote_note.get("guid") in {r.get("targetGUID") for r in sel.findall(f"{Q}NoteRef")}


def test_map_explorer_shows_a_claims_comments_escaped(mapped):
    pytest.importorskip("ipywidgets")
    from workbench.widgets import MapExplorer

    jm, study = mapped
    a = _claim(jm)
    with Store.open(study) as s:
        add_comment(s, a.claim_id, SCRIPT, "Eve", created="2024-05-01T09:30:00Z")
    panel = MapExplorer(study)
    claim = panel.map.claim(a.claim_id)
    panel.show_cell(claim.stage, claim.lane)
    assert "&lt;script&gt;alert(&quot;comment&quot;)" in panel.quotes.value and "<script>" not in panel.quotes.value
    assert "Comment by Eve" in panel.quotes.value
    with Store.open(study) as s:
        none = list_comments(s).iloc[0:0]
    given = MapExplorer(study, comments=none)                      # a frame given is what it shows
    given.show_cell(claim.stage, claim.lane)
    assert "Comment by" not in given.quotes.value


def test_cli_add_list_and_import(mapped, tmp_path, cli):
    jm, study = mapped
    a = _claim(jm)
    code, out, err = cli("comments", "add", "--study", study, "--claim", a.claim_id, "--author", "ana",
                         "We", "see", "this", "too.")
    assert code == 0, err
    assert f"on claim {a.claim_id}" in out
    code, out, err = cli("comments", "add", "--study", study, "--claim", a.claim_id, "--quote", a.evidence[0],
                         "--author", "luis", "Repeat caller.")
    assert code == 0, err
    assert f"quote {a.evidence[0]}" in out
    code, out, err = cli("comments", "add", "--study", study, "--claim", a.claim_id, "--author", " ", "text")
    assert code != 0 and "author is empty" in err
    code, out, err = cli("comments", "list", "--study", study)
    assert code == 0, err
    assert "We see this too." in out and "Repeat caller." in out and "ana" in out and a.claim_id in out
    code, out, err = cli("comments", "list", "--study", study, "--claim", "no.such.claim")
    assert code == 0 and "(no comments on no.such.claim)" in out
    code, out, err = cli("comments", "list", "--study", study, "--csv", tmp_path / "c.csv")
    assert code == 0, err
    assert (tmp_path / "c.csv").read_text(encoding="utf-8").splitlines()[0] == \
        "comment_id,claim_id,excerpt_id,author,created,text,origin"
    path = _file(tmp_path / "comments.json", [{"claim_id": a.claim_id, "excerpt_id": None, "author": "Maria",
                                               "created": "2024-05-01T09:30:00Z", "text": "From the page."}], jm.study)
    code, out, err = cli("comments", "import", path, "--study", study)
    assert code == 0, err
    assert "1 added, 0 already in the study" in out
    code, out, err = cli("comments", "import", path, "--study", study)
    assert code == 0 and "0 added, 1 already in the study" in out
    bad = _file(tmp_path / "bad.json", [{"claim_id": "nowhere.x.y", "excerpt_id": None, "author": "M",
                                         "created": "2024-05-01T09:30:00Z", "text": "t"}])
    code, out, err = cli("comments", "import", bad, "--study", study)
    assert code != 0 and "nowhere.x.y" in err and "nothing was imported" in err and len(err.strip().splitlines()) == 1
    with Store.open(study) as s:
        assert len(list_comments(s)) == 3
