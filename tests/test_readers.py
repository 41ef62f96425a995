"""Readers: the formats researchers actually have, with speakers, roles, timestamps and metadata."""
from __future__ import annotations

import json
from pathlib import Path

import docx
import pytest

from conftest import write
from workbench.errors import InputError
from workbench.ingest import CallLogColumns, Metadata, ReadOptions, read_path


def turns_of(source):
    return [(t.speaker, t.role, source.text[t.start:t.end]) for t in source.turns]


def test_plain_transcript_labels_roles_and_continuations(tmp_path):
    p = write(tmp_path / "p1.txt", "Interview P01\nDate: 2026-03-04\n\nInterviewer: How did you hear about us?\n\n"
              "P1: A friend, um, told me.\nShe said: it's free.\n\nInterviewer: And then?\nP1: Then I applied.\n")
    [s] = read_path(p).sources
    assert turns_of(s) == [
        ("Interviewer", "interviewer", "How did you hear about us?"),
        ("P1", "participant", "A friend, um, told me.\nShe said: it's free."),
        ("Interviewer", "interviewer", "And then?"),
        ("P1", "participant", "Then I applied."),
    ]
    assert s.participant == "P1" and s.reader == "transcript@1" and s.language == "en"


def test_timestamped_named_speakers_get_roles_from_questions(tmp_path):
    p = write(tmp_path / "s2.txt", "[00:00:05] Ana: How did it start?\n[00:00:09] Tom: I walked past the branch.\n"
              "[00:01:02] Ana: What happened next?\n[00:01:10] Tom: They gave me a form. Three pages.\n")
    [s] = read_path(p).sources
    assert [(sp, r) for sp, r, _ in turns_of(s)] == [("Ana", "interviewer"), ("Tom", "participant")] * 2
    assert s.turns[1].t_start == 9.0 and s.turns[1].t_end == 62.0 and s.turns[3].t_start == 70.0


def test_interviewer_named_in_metadata_wins(tmp_path):
    p = write(tmp_path / "s3.txt", "Ana: Hi Tom?\nTom: Hi? Who are you?\nAna: I run the study.\nTom: Ok?\n")
    meta = write(tmp_path / "meta.csv", "file,interviewers,segment\ns3.txt,Tom,smb\n")
    [s] = read_path(p, metadata=Metadata.load(meta)).sources
    assert {t.speaker: t.role for t in s.turns} == {"Ana": "participant", "Tom": "interviewer"}
    assert s.segment == "smb"


def test_markdown_bold_labels_and_spanish(tmp_path):
    p = write(tmp_path / "p3.md", "# Entrevista P3\n\n- Fecha: 2026-03-09\n\n**Entrevistador:** ¿Cómo abriste la cuenta?\n\n"
              "**P3:** Pues por la app, la verdad es que fue rápido.\n\n**Entrevistador:** ¿Y la tarjeta?\n\n"
              "**P3**: Tardó doce días en llegar.\n")
    [s] = read_path(p).sources
    assert turns_of(s)[1] == ("P3", "participant", "Pues por la app, la verdad es que fue rápido.")
    assert turns_of(s)[3] == ("P3", "participant", "Tardó doce días en llegar.")
    assert s.language == "es" and s.turns[0].role == "interviewer"


def test_vtt_voice_tags_merge_consecutive_cues(tmp_path):
    p = write(tmp_path / "p4.vtt", "WEBVTT\n\n1\n00:00:01.000 --> 00:00:03.000\n<v Interviewer>Tell me about the app.</v>\n\n"
              "00:00:03.500 --> 00:00:06.000\n<v Sam>It crashed twice\n\n00:00:06.000 --> 00:00:09.250\n<v Sam>when I uploaded my ID.\n\n"
              "00:00:09.500 --> 00:00:11.000\nThen it worked.\n")
    [s] = read_path(p).sources
    assert turns_of(s) == [("Interviewer", "interviewer", "Tell me about the app."),
                           ("Sam", "participant", "It crashed twice when I uploaded my ID. Then it worked.")]
    assert (s.turns[1].t_start, s.turns[1].t_end) == (3.5, 11.0)
    assert "-->" not in s.text


def test_srt_name_prefixes(tmp_path):
    p = write(tmp_path / "p6.srt", "1\n00:00:01,200 --> 00:00:05,900\nCarmen: ¿Cómo fue la apertura?\n\n"
              "2\n00:00:06,000 --> 00:00:09,000\nJavier: Pues fatal, me mandaron\na la oficina.\n\n"
              "3\n00:00:09,100 --> 00:00:12,000\nJavier: Tres veces.\n")
    [s] = read_path(p).sources
    assert turns_of(s)[1] == ("Javier", "participant", "Pues fatal, me mandaron a la oficina. Tres veces.")
    assert s.turns[0].role == "interviewer" and s.turns[1].t_start == 6.0 and s.language == "es"


def test_invalid_vtt_says_what_to_do(tmp_path):
    with pytest.raises(InputError, match="WEBVTT"):
        read_path(write(tmp_path / "x.vtt", "00:00:01.000 --> 00:00:02.000\nhi\n"))


def _docx(path: Path, paragraphs: list[str], table: list[tuple[str, ...]] | None = None) -> Path:
    d = docx.Document()
    for para in paragraphs:
        d.add_paragraph(para)
    if table:
        t = d.add_table(rows=0, cols=len(table[0]))
        for row in table:
            cells = t.add_row().cells
            for c, v in zip(cells, row):
                c.text = v
    d.save(path)
    return path


def test_docx_paragraphs_and_speaker_table(tmp_path):
    p = _docx(tmp_path / "p7.docx", ["Entrevista P07", "Entrevistadora: ¿Qué tal el banco?", "Rosa: Bien, pero las comisiones no."],
              [("00:05:00", "Entrevistadora", "¿Y la oficina?"), ("00:05:10", "Rosa", "Me atendieron genial, la verdad.")])
    [s] = read_path(p).sources
    assert turns_of(s) == [
        ("Entrevistadora", "interviewer", "¿Qué tal el banco?"), ("Rosa", "participant", "Bien, pero las comisiones no."),
        ("Entrevistadora", "interviewer", "¿Y la oficina?"), ("Rosa", "participant", "Me atendieron genial, la verdad.")]


def test_corrupt_docx(tmp_path):
    good = _docx(tmp_path / "g.docx", ["Interviewer: hi", "P1: hello"]).read_bytes()
    bad = write(tmp_path / "bad.docx", "")
    bad.write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="damaged or truncated"):
        read_path(bad)


CALLS = ("conversation_id,timestamp,role,speaker,text,channel,segment,csat,agent_team\n"
         "C1,2026-02-03T09:00:00,customer,customer,\"Still no card, day 12\",chat,young_professional,2,cards\n"
         "C1,2026-02-03T09:01:00,agent,Marta,\"Sorry, let me check. It was sent on the 3rd.\",chat,young_professional,2,cards\n"
         "C2,2026-02-04T10:00:00,customer,customer,\"Hola, ¿cuánto cuesta\nla cuenta?\",phone,small_business,,business\n"
         "C2,2026-02-04T10:00:30,agent,Luis,Nada si domicilias la nómina.,phone,small_business,,business\n"
         "C1,2026-02-03T09:03:00,customer,customer,ok thanks,chat,young_professional,2,cards\n")


def test_call_log_csv_groups_conversations_and_keeps_columns(tmp_path):
    sources = read_path(write(tmp_path / "calls.csv", CALLS)).sources
    c1, c2 = sorted(sources, key=lambda s: s.key)
    assert [t.role for t in c1.turns] == ["customer", "agent", "customer"]
    assert c1.text[c1.turns[0].start:c1.turns[0].end] == "Still no card, day 12"
    assert (c1.channel, c1.segment, c1.meta["csat"], c1.meta["agent_team"]) == ("chat", "young_professional", 2, "cards")
    assert c1.turns[1].meta["timestamp"] == "2026-02-03T09:01:00" and c1.participant == "C1"
    assert c2.text[c2.turns[0].start:c2.turns[0].end] == "Hola, ¿cuánto cuesta\nla cuenta?"
    assert c2.language == "es" and "csat" not in c2.meta and c1.kind == "call_log"


def test_call_log_tsv_jsonl_and_nested_jsonl(tmp_path):
    tsv = write(tmp_path / "calls.tsv", CALLS.replace(",", "\t").replace('"Still no card\t day 12"', "Still no card, day 12")
                .replace('"Sorry\t let me check. It was sent on the 3rd."', "Sorry, it was sent.")
                .replace('"Hola\t ¿cuánto cuesta\nla cuenta?"', "Hola, ¿cuánto cuesta la cuenta?"))
    assert len(read_path(tsv).sources) == 2
    rows = [{"ticket_id": "T9", "sender": "agent", "message": "How can I help?", "nps": 3},
            {"ticket_id": "T9", "sender": "customer", "message": "I was charged 12 euros twice.", "nps": 3}]
    flat = write(tmp_path / "t.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")
    [s] = read_path(flat, options=ReadOptions(columns=CallLogColumns(role="sender"))).sources
    assert [t.role for t in s.turns] == ["agent", "customer"] and s.meta["nps"] == 3
    nested = write(tmp_path / "n.jsonl", json.dumps({"call_id": "K1", "channel": "phone", "messages": [
        {"role": "customer", "text": "My app crashes at the selfie step."}, {"role": "agent", "text": "Let me help."}]}) + "\n")
    [s] = read_path(nested).sources
    assert s.channel == "phone" and [t.role for t in s.turns] == ["customer", "agent"]


def test_one_row_per_call_with_labelled_transcript(tmp_path):
    p = write(tmp_path / "calls.csv", 'call_id,transcript,csat\nK1,"Agent: Hello, how can I help?\nCustomer: My card was blocked.\nAgent: Let me look.",4',
              )
    [s] = read_path(p).sources
    assert [(t.speaker, t.role) for t in s.turns] == [("Agent", "agent"), ("Customer", "customer"), ("Agent", "agent")]
    assert s.text[s.turns[1].start:s.turns[1].end] == "My card was blocked."


def test_call_log_without_text_column_names_the_columns(tmp_path):
    p = write(tmp_path / "c.csv", "id,who,what\n1,a,b\n")
    with pytest.raises(InputError, match="columns: id, who, what"):
        read_path(p)
    [s] = read_path(p, options=ReadOptions(columns=CallLogColumns(text="what"))).sources
    assert s.text.strip().endswith("b")


def test_ragged_csv_row_is_named(tmp_path):
    p = write(tmp_path / "c.csv", "conversation_id,role,text\nC1,customer,hello\nC1,agent,hi,extra,fields\n")
    with pytest.raises(InputError, match="line 3 has 5 fields but the header has 3"):
        read_path(p)


def test_usability_notes_tasks_quotes_severity(tmp_path):
    p = write(tmp_path / "u.md", "# Usability test — app\n- Participant: U01 (segment: young_professional)\n- Date: 2026-03-18\n\n"
              "## Task 1: Find the fees\n- Scrolled past the fee table twice [severity: 2]\n- Found it via search\n"
              "> \"Where would the fees be? Um.\"\n\n## Task 2: Verify identity\n- Selfie failed three times #sev3\n"
              "> \"Oh great, again.\"\n")
    [s] = read_path(p).sources
    assert s.kind == "usability_notes" and s.reader == "usability@1"
    assert (s.participant, s.segment, s.date) == ("U01", "young_professional", "2026-03-18")
    got = [(t.role, s.text[t.start:t.end], t.meta.get("task"), t.meta.get("severity")) for t in s.turns]
    assert got == [
        ("observer", "Scrolled past the fee table twice [severity: 2]", "Task 1: Find the fees", 2),
        ("observer", "Found it via search", "Task 1: Find the fees", None),
        ("participant", "\"Where would the fees be? Um.\"", "Task 1: Find the fees", None),
        ("observer", "Selfie failed three times #sev3", "Task 2: Verify identity", 3),
        ("participant", "\"Oh great, again.\"", "Task 2: Verify identity", None),
    ]


def test_metadata_yaml_patterns_and_flag_precedence(tmp_path):
    p = write(tmp_path / "interviews" / "p9.txt", "Interviewer: Hi?\nP9: Hello there, this is fine.\n")
    meta = write(tmp_path / "meta.yaml", "'p*.txt':\n  segment: young_professional\n  channel: video\n  recruited_by: panel\n")
    [s] = read_path(p, metadata=Metadata.load(meta), flags={"segment": "small_business"}).sources
    assert (s.segment, s.channel, s.meta["recruited_by"]) == ("small_business", "video", "panel")


def test_unknown_kind_lists_readers(tmp_path):
    with pytest.raises(InputError, match="Unknown --kind 'pdf'; choose one of: call_log"):
        read_path(write(tmp_path / "a.txt", "P1: hi"), kind="pdf")


def test_invalid_metadata_yaml_names_the_line(tmp_path):
    meta = write(tmp_path / "meta.yaml", "p1.txt:\n  segment: [unclosed\n")
    with pytest.raises(InputError, match=r"invalid YAML at line 2 \(expected"):
        Metadata.load(meta)
