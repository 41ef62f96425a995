"""Write notebooks/01_ingest … 04_compare_segments (sources of truth for their cells).

    .venv/bin/python scripts/make_notebooks.py [05_themes.ipynb ...]     # all, or only those named
    cd notebooks && ../.venv/bin/jupyter nbconvert --to notebook --execute --inplace 0*.ipynb && cd ..
    .venv/bin/python scripts/make_notebooks.py --strip      # drop saved widget state (the Vega bundle, ~1 MB each)

Cells whose output varies (widgets carry random model ids) are marked ``# NBVAL_IGNORE_OUTPUT``.
"""
import sys
from pathlib import Path

import nbformat as nbf

HERE = Path(__file__).resolve().parent.parent / "notebooks"
IGNORE = "# NBVAL_IGNORE_OUTPUT\n"
SETUP = '''from pathlib import Path

STUDY = Path("../out/notebooks/study.db")      # the study these notebooks share
CORPORA = Path("../corpora")                   # the bundled sample corpora'''


def strip() -> None:
    for path in sorted(HERE.glob("0*.ipynb")):
        book = nbf.read(path, as_version=4)
        book.metadata.pop("widgets", None)
        nbf.write(book, path)


def nb(name: str, cells: list[tuple[str, str]]) -> None:
    wanted = [a for a in sys.argv[1:] if not a.startswith("--")]
    if wanted and name not in wanted:       # only the notebooks named (others keep their executed outputs)
        return
    book = nbf.v4.new_notebook()
    book.metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
                     "language_info": {"name": "python"}}
    book.cells = [nbf.v4.new_markdown_cell(src) if kind == "md" else nbf.v4.new_code_cell(src) for kind, src in cells]
    nbf.write(book, HERE / name)


if "--strip" in sys.argv:
    strip()
    sys.exit(0)

nb("01_ingest.ipynb", [
    ("md", "# 1 · Ingest\n\nStart a study from the bundled sample corpora: interviews (English and Spanish; txt, md, vtt, srt, "
           "docx), a contact-centre log and usability-test notes. The panel previews what an import would store — turns, "
           "speakers, roles and the detected language — before anything is written; each file is then imported in its own "
           "transaction, with a progress bar. Errors show in the panel, in plain words.\n\n"
           "Running this notebook **starts a new study** at `out/notebooks/study.db`."),
    ("code", SETUP + '''
for f in (STUDY, Path(f"{STUDY}-wal"), Path(f"{STUDY}-shm")):
    f.unlink(missing_ok=True)'''),
    ("code", IGNORE + '''from workbench.widgets import IngestPanel

ingest = IngestPanel(STUDY, paths=[CORPORA / "interviews", CORPORA / "call_logs", CORPORA / "usability"],
                     metadata=CORPORA / "metadata.csv")
ingest'''),
    ("md", "Press **Preview** in the panel, or run the next cell: it does the same."),
    ("code", '''turns = ingest.preview()
turns[["source", "turn", "speaker", "role", "language", "segment"]].head(8)'''),
    ("md", "**Import** stores the files (a file already in the study is skipped, so re-running is safe)."),
    ("code", '''reports = ingest.import_files()
[(Path(r.path).name, r.status) for r in reports]'''),
    ("code", '''from workbench.store import Store

with Store.open(STUDY) as store:
    counts = store.counts()
    by_segment = store.sources()["segment"].value_counts().sort_index()
counts, by_segment.to_dict()'''),
])

nb("02_code_and_review.ipynb", [
    ("md", "# 2 · Code and review\n\nThe machine coders (rules with cues in English and Spanish, and the offline emotion "
           "model when trained) suggest a stage, pain point, emotion, touchpoint, actor, backstage process and "
           "opportunity for every excerpt in the customer's own words. You review them one excerpt at a time, all its "
           "dimensions at once: **accept**, set to **(none)** or **recode**, with a memo. Every decision is saved to the study at once — a kernel restart loses "
           "nothing — and a later machine re-run never overwrites it.\n\n"
           "Keyboard: Tab moves between buttons and fields, Enter or Space presses a button."),
    ("code", SETUP + '''
from workbench.demo import sample_study

sample_study(STUDY)          # ingests the corpora if 01 did not run, and codes the study once'''),
    ("code", IGNORE + '''from workbench.widgets import CodebookPanel

codebook = CodebookPanel("pain_points", study=STUDY)      # browse and edit codes; cues in EN and ES
codebook'''),
    ("md", "The review panel shows one **card per excerpt**: the quote between its previous and next turns, and one "
           "row per suggested dimension — a dropdown set to the suggestion (or **(none)**: no code), its confidence and "
           "the rationale. **Accept all** saves the card as shown, every dimension in one transaction (a changed "
           "dropdown is a recode); **Skip** leaves it for later, **Undo last** takes the last card back. The least "
           "certain excerpts come first: a card is as uncertain as its least confident suggestion."),
    ("code", IGNORE + '''from workbench.widgets import ReviewPanel

review = ReviewPanel(STUDY, coder="researcher", page_size=8)
review'''),
    ("md", "The same actions without the buttons, e.g. in a script: `review.accept_card(0)` (Accept all), "
           "`review.accept_card(1, overrides={\"stage\": \"service\"})`, `review.recode(2, \"waiting\")`, "
           "`review.reject(3, \"emotion\")`, `review.undo()`. The cards as a table, one row per excerpt "
           "(`workbench.review.review_cards`; a dimension's columns are `stage`, `stage_confidence`, `stage_rationale`, …):"),
    ("code", '''from workbench.review import review_cards, review_summary
from workbench.store import Store

with Store.open(STUDY) as store:
    print(review_summary(store))
    cards = review_cards(store, order="uncertainty", limit=5)
cards[["excerpt_id", "uncertainty", "dimensions", "stage", "stage_confidence", "pain_point", "emotion", "emotion_confidence"]]'''),
    ("md", "What is left to review, per dimension:"),
    ("code", IGNORE + '''from workbench.review import queue_counts

with Store.open(STUDY) as store:
    left = queue_counts(store)
left'''),
    ("md", "## Agreement\n\nTwo coders side by side — two researchers, or a researcher and a machine coder — with "
           "Cohen's kappa, Krippendorff's alpha and the excerpts they disagree on."),
    ("code", IGNORE + '''from workbench.widgets import AgreementPanel

AgreementPanel(STUDY)'''),
])

nb("03_journey_map.ipynb", [
    ("md", "# 3 · Journey map\n\nThe evidence-linked journey map of the study: stages × lanes (doing, thinking, feeling, "
           "touchpoints, people, backstage, pain points, opportunities, metrics). **Click a cell** of the map or a "
           "**point** of the emotion curve: its quotes appear below the charts, each with its source, speaker and "
           "character offsets. Pick a segment to map one persona. **Export report** writes the offline HTML report, "
           "PNG, SVG and CSVs."),
    ("code", SETUP + '''
from workbench.demo import sample_study

sample_study(STUDY)'''),
    ("code", IGNORE + '''from workbench.widgets import MapExplorer

explorer = MapExplorer(STUDY, out=Path("../out/notebooks/report"))
explorer'''),
    ("md", "What a click on the most supported pain point of the map shows:"),
    ("code", '''top_pain = max((c for c in explorer.map.claims if c.lane == "pain_points"), key=lambda c: (c.n_participants, c.n_excerpts))
quotes = explorer.show_cell(top_pain.stage, top_pain.lane)
print(top_pain.text, "·", top_pain.stage, "·", top_pain.n_excerpts, "excerpts ·", top_pain.n_participants, "participants")
quotes[quotes["claim_id"] == top_pain.claim_id][["source_name", "speaker", "start", "end", "quote"]].head(5)'''),
    ("code", '''files = explorer.export()
sorted(files)'''),
])

nb("04_compare_segments.ipynb", [
    ("md", "# 4 · Compare and track\n\nOne map per segment (loaded from the study once), and every code at every "
           "stage tested between them: the unit is the participant (a call-log conversation counts as one), Fisher's "
           "exact test for codes and Mann–Whitney U for the emotion curve, Benjamini–Hochberg across the whole table. "
           "A difference is *reliable* when q < 0.05; with a handful of participants per stage, often none is."),
    ("code", SETUP + '''
from workbench.demo import sample_study
from workbench.journey import build_map, compare_maps, load_map_inputs
from workbench.store import Store

sample_study(STUDY)
with Store.open(STUDY) as store:
    inputs = load_map_inputs(store)
maps = [build_map(inputs, segment=s) for s in inputs.segments]
inputs.segments, [len(m.claims) for m in maps]'''),
    ("code", '''differences = compare_maps(maps)
print(f"{len(differences)} tests, {int(differences['reliable'].sum())} reliable (q < 0.05)")
differences[["stage", "lane", "text", "higher_in", "difference", "effect", "p_value", "q_value"]].head(10)'''),
    ("code", IGNORE + '''from workbench import charts

charts.comparison_chart(maps, differences)'''),
    ("md", "The quotes behind the strongest difference (smallest q; reliable or not, the table says):"),
    ("code", '''first = differences.iloc[0]
ids = first["evidence_ids"].split(";")[:5]
print(first["summary"], f"(q = {first['q_value']:.2f})")
import pandas as pd

pd.concat([m.evidence for m in maps]).set_index("excerpt_id").loc[ids, ["source_name", "speaker", "start", "end", "quote"]]'''),
    ("md", "## Compare by any attribute\n\nAny source or conversation attribute splits the study: `outcome`, `channel`, "
           "`agent_team`, a CSAT band (`\"csat<=2\"`, or bands `\"csat:1-2,3,4-5\"`), date waves "
           "(`\"date:2026-02,2026-03\"`). The same tests as above, one map per group; a group with under 5 participants "
           "is flagged thin. On the command line: `workbench map --study S --compare-by outcome --out DIR`."),
    ("code", '''with Store.open(STUDY) as store:
    by_outcome = build_map(store, compare_by="outcome", groups=("resolved", "unresolved"))
d = by_outcome.differences
print([(m.name, m.n_participants) for m in by_outcome.groups])
print(f"{len(d)} tests, {int(d['reliable'].sum())} reliable differences")
d[["stage", "lane", "text", "higher_in", "n_higher", "n_lower", "difference", "q_value"]].head(5)'''),
    ("code", IGNORE + '''from IPython.display import HTML
from workbench.report_tracking import groups_html

HTML(groups_html(by_outcome.groups, by_outcome.group_by))'''),
    ("md", "## Snapshots and what changed\n\nA snapshot stores the map in the study (claims with their evidence, the "
           "curve, settings, codebook and coder versions, the source list). Here: the map of February's sources, and the "
           "map of all of them, as if the study had grown between two rounds (`workbench map --study S --snapshot NAME`)."),
    ("code", '''from workbench.snapshots import add_goal, list_goals, list_snapshots, save_snapshot

with Store.open(STUDY) as store:
    if list_goals(store).empty:      # goals: each snapshot measures them (workbench goals add)
        add_goal(store, "Fewer waits in service", "service", "pain:waiting", better="lower")
        add_goal(store, "Better CSAT in service", "service", "metric:csat", better="higher")
    save_snapshot(store, "february", build_map(store, compare_by="date:2026-02", group="2026-02"), replace=True,
                  created="2026-02-28T18:00:00+00:00")
    save_snapshot(store, "all", build_map(store), replace=True, created="2026-03-31T18:00:00+00:00")
    snapshots = list_snapshots(store)
snapshots'''),
    ("md", "The goals as each snapshot measured them, with 95 % intervals (Wilson for a share, a seeded bootstrap "
           "for a mean); the report shows them as a small chart:"),
    ("code", '''from workbench.snapshots import goal_history

with Store.open(STUDY) as store:
    goals = goal_history(store)
goals[["snapshot", "name", "measure", "value", "low", "high", "n"]].round(3)'''),
    ("md", "The panel compares two snapshots (or a snapshot and the current map): **Show changes** lists the claims "
           "that appeared, disappeared, grew or shrank and the curve's change per stage; a change is *reliable* only "
           "when Fisher's exact test (Mann–Whitney U for the curve), Benjamini–Hochberg-adjusted, says so. Pick a "
           "change to read its quotes. `workbench map diff --study S february all --out DIR` writes the same as "
           "changes.csv and changes.html."),
    ("code", IGNORE + '''from workbench.widgets import ChangesPanel

ChangesPanel(STUDY, before="february", after="all")'''),
    ("md", "The same diff from the Python API, its largest changes first:"),
    ("code", '''from workbench.snapshots import diff_snapshots, diff_summary, load_snapshot

with Store.open(STUDY) as store:
    changes = diff_snapshots(load_snapshot(store, "february"), load_snapshot(store, "all"))
print(diff_summary(changes))
changes.reindex(changes["difference"].abs().sort_values(ascending=False, kind="stable").index)[
    ["change", "reliable", "stage", "summary", "q_value"]].head(6)'''),
])
nb("05_themes.ipynb", [
    ("md", "# 5 · Themes\n\nThemes the codebook does not have yet, found in the customers' pain-point excerpts with "
           "BERTopic over offline embeddings. Brand names, @handles, URLs and numbers are masked before embedding, so "
           "themes are about problems; English and Spanish excerpts about the same thing can share a theme. A theme "
           "that deserves a code becomes a **candidate code** (its keywords as cues, its quotes as examples), reviewed "
           "like any other code. Same study + settings + seed → same themes."),
    ("code", SETUP + '''
from workbench.demo import sample_study
from workbench.store import Store
from workbench.themes import ThemeSettings, find_themes, study_table

sample_study(STUDY)
with Store.open(STUDY) as store:
    pains = study_table(store, dimension="pain_point")
len(pains)'''),
    ("code", IGNORE + '''themes = find_themes(pains["text"], pains["excerpt_id"], ThemeSettings(min_size=8, seed=0), progress=True,
                     context=pains["context"])   # the turn before each excerpt: what "Nobody told me." is about
print(themes.embedder)
themes.themes[["theme_id", "label", "size", "keywords"]]'''),
    ("md", "What the run did to the texts before embedding — which names it masked (a word that is not a name goes "
           "back in with `ThemeSettings(keep=[...])`, or `--keep` on the command line), and how outliers were handled:"),
    ("code", IGNORE + '''for note in themes.notes:
    print("note:", note)'''),
    ("md", "Where each theme shows up in the journey, and for whom:"),
    ("code", IGNORE + '''themes.by(pains["stage"], "stage")'''),
    ("code", IGNORE + '''themes.by(pains["segment"].fillna("(none)"), "segment")'''),
    ("md", "Which pain-point codes the excerpts of each theme already carry: a theme spread over several codes, "
           "or mostly uncoded by one, is a candidate for a new code; a theme that is one code again is not new:"),
    ("code", IGNORE + '''themes.by(pains["code"], "code")'''),
    ("md", "The representative quotes of the largest theme (verbatim, with their excerpt ids):"),
    ("code", IGNORE + '''top = themes.themes.iloc[0]
for excerpt_id, quote in zip(top["quote_ids"], top["quotes"]):
    print(excerpt_id, "·", quote)'''),
    ("md", "Turn it into a candidate pain-point code, then edit and save it in the codebook panel:"),
    ("code", IGNORE + '''from workbench.codebook import resolve
from workbench.themes import theme_to_code
from workbench.widgets import CodebookPanel

book = theme_to_code(top, resolve("pain_points"))
panel = CodebookPanel("pain_points", study=STUDY)
panel.use(book, book.codes[-1].code_id)
panel'''),
    ("code", '''# every excerpt has a theme or is an outlier (-1), and every theme has 3-5 quotes
bool((themes.assignments["theme_id"] >= -1).all() and themes.themes["quotes"].map(len).between(3, 5).all())'''),
])
print("notebooks written to", HERE)
