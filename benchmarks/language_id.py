"""Offline language identification for short text: the project's detector vs lingua vs py3langid (issue 21).

Three sets, reported separately:

* ``sentences`` — held-out real sentences (6+ words) from Universal Dependencies *test* treebanks,
  300 per language, 13 languages (``benchmarks/data/langid/sentences.tsv``; sources, commits and
  licences in ``benchmarks/data/langid/README.md``).
* ``short`` — "turns under six words": one fragment of 2–5 consecutive words from each of those
  sentences, no punctuation inside, at least one word that is not a proper name or a number
  (``short_turns.tsv``, same order and same ``part`` as the sentence it came from).
* ``speech`` — short customer/participant turns (whole turns of up to 8 words, and sentences of up
  to 5 words inside longer turns) from the project's own ``corpora/`` (en/es interviews, call logs,
  usability notes), read with the project's readers at run time. The team wrote these: **not
  held out from the team**.

Every row has a ``part`` (``dev``/``test``, by ``sha1`` of the sentence, or of the turn text); the
``und`` threshold and the combination rules are chosen on ``dev`` and reported on ``test``.

Detectors: the project's ``workbench.language.detect``; lingua (all 75 languages or the 13 benchmark
languages; lazy or preloaded models; high or low accuracy mode); py3langid (all 97 or the 13);
and ``ensemble`` — the mean of lingua-all's and py3langid-all's probabilities plus ``WB_MASS`` times
the project's detector's confidence on its en/es answer (any language can come out).

``cascade`` (lingua's ~1.3 ms/text and ~1 GB are too dear for every excerpt of a large ingest):
stage 1 = py3langid-all's probabilities + ``WB_MASS`` x the project's en/es vote; if that top
probability is >= tau, take it, otherwise compute the full ensemble (stage 2, lingua). Two stage-2
variants: lingua with all 75 languages (lazy models), and ``-top5``: lingua restricted to
py3langid's five best-ranked languages that lingua knows, one ``LanguageDetectorBuilder
.from_languages(...)`` detector per candidate set, cached (lingua shares loaded models between
detectors, so memory = the languages that ever were candidates). From recorded rankings
(``lingua-all-pre``/``lingua-top5``, ``py3langid-all``, ``wb``), on ``dev`` (same objective): the ``und``
threshold t of the variant's full ensemble (tau = inf), then tau (ties go to the lower, cheaper tau);
then each variant runs end to end in its own process at a few tau (``--cascade-taus`` and the chosen
one) for the measured share of texts that reach lingua, us/text (cold = first pass, models loading;
warm = second pass over the same texts) and peak memory (VmHWM).

Accuracy counts ``und``/None as wrong; ``decided`` is accuracy on the texts a detector labelled.
Each detector runs in its own subprocess, one after the other (load time and peak memory are that
process's own), with sockets disabled so that any attempt to download a model fails loudly.

    python benchmarks/language_id.py                 # run every detector, print the tables
    python benchmarks/language_id.py --only wb lingua-all
    python benchmarks/language_id.py --only wb py3langid-all lingua-all-pre lingua-top5 ensemble cascade cascade-top5
    python benchmarks/language_id.py build           # rebuild the TSVs from UD mirrors (see README)
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data" / "langid"
CORPORA = ROOT / "corpora"

#: language → (UD treebank repository, test file). Licences: see data/langid/README.md.
TREEBANKS = {
    "en": ("UD_English-EWT", "en_ewt-ud-test.conllu"),
    "es": ("UD_Spanish-GSD", "es_gsd-ud-test.conllu"),
    "ro": ("UD_Romanian-RRT", "ro_rrt-ud-test.conllu"),
    "fr": ("UD_French-GSD", "fr_gsd-ud-test.conllu"),
    "pt": ("UD_Portuguese-Bosque", "pt_bosque-ud-test.conllu"),
    "de": ("UD_German-GSD", "de_gsd-ud-test.conllu"),
    "it": ("UD_Italian-PUD", "it_pud-ud-test.conllu"),
    "nl": ("UD_Dutch-Alpino", "nl_alpino-ud-test.conllu"),
    "pl": ("UD_Polish-PUD", "pl_pud-ud-test.conllu"),
    "tr": ("UD_Turkish-BOUN", "tr_boun-ud-test.conllu"),
    "sv": ("UD_Swedish-Talbanken", "sv_talbanken-ud-test.conllu"),
    "cs": ("UD_Czech-PUD", "cs_pud-ud-test.conllu"),
    "fi": ("UD_Finnish-TDT", "fi_tdt-ud-test.conllu"),
}
LANGS = tuple(TREEBANKS)
PER_LANG = 300
WORD = re.compile(r"[^\W\d_]+")
NOT_CONTENT = {"PROPN", "NUM", "PUNCT", "SYM", "X"}


def n_words(text: str) -> int:
    return len(WORD.findall(text))


def part_of(key: str) -> str:
    return "dev" if int(hashlib.sha1(key.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "test"


# --------------------------------------------------------------------------------------------- build

def parse_conllu(text: str) -> list[dict]:
    """Sentences as ``{"id", "text", "toks": [[surface form, {upos...}]]}`` (multiword tokens merged)."""
    out = []
    for block in text.split("\n\n"):
        cur = {"id": None, "text": None, "toks": []}
        mwt_end, mwt = 0, None
        for line in block.splitlines():
            if line.startswith("# sent_id"):
                cur["id"] = line.split("=", 1)[1].strip()
            elif line.startswith(("# text =", "# text=")):
                cur["text"] = line.split("=", 1)[1].strip()
            elif line and not line.startswith("#"):
                cols = line.split("\t")
                if len(cols) < 4 or "." in cols[0]:
                    continue
                if "-" in cols[0]:
                    mwt_end, mwt = int(cols[0].split("-")[1]), [cols[1], set()]
                    cur["toks"].append(mwt)
                elif mwt is not None and int(cols[0]) <= mwt_end:
                    mwt[1].add(cols[3])
                    if int(cols[0]) == mwt_end:
                        mwt = None
                else:
                    cur["toks"].append([cols[1], {cols[3]}])
        if cur["id"] and cur["text"] and cur["toks"]:
            out.append(cur)
    return out


def fragment(sent: dict, rng: random.Random) -> str | None:
    """2–5 consecutive tokens with no punctuation inside and at least one content word."""
    text, toks = sent["text"], sent["toks"]
    spans, pos = [], 0
    for form, _ in toks:  # align surface forms on the sentence text to keep its own spacing
        i = text.find(form, pos)
        if i < 0:
            return None
        spans.append((i, i + len(form)))
        pos = i + len(form)
    ks = [2, 3, 4, 5]
    rng.shuffle(ks)
    for k in ks:
        windows = []
        for s in range(len(toks) - k + 1):
            w = toks[s:s + k]
            if any(("PUNCT" in u or "SYM" in u) or not WORD.search(f) for f, u in w):
                continue
            if not any(u - NOT_CONTENT and WORD.search(f) for f, u in w):
                continue
            windows.append(s)
        if windows:
            s = rng.choice(windows)
            frag = text[spans[s][0]:spans[s + k - 1][1]]
            if 2 <= n_words(frag) <= 5:
                return frag
    return None


def build(mirror_root: Path) -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    sent_rows, short_rows, provenance = [], [], []
    for lang, (repo, fname) in TREEBANKS.items():
        gitdir = mirror_root / f"UniversalDependencies+{repo}" / "repo"
        commit = subprocess.run(["git", f"--git-dir={gitdir}", "rev-parse", "HEAD"], check=True,
                                capture_output=True, text=True).stdout.strip()
        raw = subprocess.run(["git", f"--git-dir={gitdir}", "show", f"HEAD:{fname}"], check=True,
                             capture_output=True).stdout.decode("utf-8")
        sents = [s for s in parse_conllu(raw) if 6 <= n_words(s["text"]) <= 60 and "\t" not in s["text"]]
        rng = random.Random(f"langid-{lang}")
        rng.shuffle(sents)
        kept = 0
        for s in sents:
            frag = fragment(s, rng)
            if frag is None:
                continue
            part = part_of(f"{lang}:{s['id']}")
            sent_rows.append((lang, part, s["text"]))
            short_rows.append((lang, part, frag))
            kept += 1
            if kept == PER_LANG:
                break
        provenance.append((lang, repo, commit, fname, kept))
    for name, rows in (("sentences.tsv", sent_rows), ("short_turns.tsv", short_rows)):
        with open(DATA / name, "w", encoding="utf-8", newline="") as f:
            f.write("lang\tpart\ttext\n")
            f.writelines("\t".join(r) + "\n" for r in rows)
    for p in provenance:
        print("\t".join(map(str, p)))


# ---------------------------------------------------------------------------------------------- sets

def read_tsv(name: str) -> list[dict]:
    with open(DATA / name, encoding="utf-8") as f:
        return [{"lang": r["lang"], "part": r["part"], "text": r["text"]}
                for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]


#: call-log conversations whose customer writes Spanish (every conversation is in one language;
#: checked by reading them). All others are English.
CALLS_ES = {2, 6, 8, 12, 13, 17, 19, 23, 27, 30, 32, 36, 38, 40, 43, 45, 47, 50, 51, 52, 54}
#: turns whose language differs from their file's (code-switching), by reading them.
SPEECH_LANG_OVERRIDE = {"Vale, sí, un poco.": "es"}
#: turns that name no language: markers, interjections, a bare "No." (en and es alike).
SPEECH_DROP = re.compile(r"^(\[[^\]]*\]\s*)*$|^(Uf|No|OK|Ok|Hmm|Mm)[.!?]*$")


def speech_set() -> list[dict]:
    """Short customer/participant turns of the project's corpora (labelled by file/conversation)."""
    sys.path.insert(0, str(ROOT))
    from workbench.ingest import read_path

    files = sorted((CORPORA / "interviews").iterdir()) + sorted((CORPORA / "call_logs").glob("*.csv")) \
        + sorted((CORPORA / "usability").glob("*.md"))
    split = re.compile(r"(?<=[.!?…])\s+")
    rows, seen = [], set()
    for p in files:
        if re.search(r"_ro[_.]", p.name):     # the Romanian sample (issue 21) came later: the set stays en/es
            continue
        m = re.search(r"_(en|es)[_.]", p.name)
        for src in read_path(p, analyse=False).sources:
            for t in src.turns:
                if t.role not in ("participant", "customer"):
                    continue
                if m:
                    lang = m.group(1)
                else:  # call log: one conversation per source, HZ-2026-00NN
                    conv = int(re.search(r"(\d+)$", t.meta.get("conversation_id") or src.name).group(1))
                    lang = "es" if conv in CALLS_ES else "en"
                txt = " ".join(src.text[t.start:t.end].split())
                units = [txt] if 1 <= n_words(txt) <= 8 else [s for s in split.split(txt) if 1 <= n_words(s) <= 5]
                for u in units:
                    u = u.strip().strip('"').strip()
                    u = re.sub(r"^\[[^\]]*\]\s*", "", u)
                    if not u or SPEECH_DROP.match(u) or not WORD.search(u):
                        continue
                    lab = SPEECH_LANG_OVERRIDE.get(u, lang)
                    if (lab, u) in seen:
                        continue
                    seen.add((lab, u))
                    rows.append({"lang": lab, "part": part_of(u), "text": u})
    return rows


def all_sets() -> dict[str, list[dict]]:
    return {"sentences": read_tsv("sentences.tsv"), "short": read_tsv("short_turns.tsv"), "speech": speech_set()}


# ------------------------------------------------------------------------------------------- workers

CONFIGS = {
    "wb": "workbench.language.function_words (en, es; pt, fr, de, it 'enough to say not en/es')",
    "product": "workbench.language.detect as shipped: the cascade (py3langid + wb vote; lingua-top5 below TAU; und below UND_BELOW)",
    "product-low": "the product's cascade with lingua in low accuracy mode (workbench.language.LINGUA_LOW_ACCURACY)",
    "lingua-all": "lingua, all 75 languages, high accuracy, lazy model loading",
    "lingua-all-pre": "lingua, all 75 languages, high accuracy, preloaded models",
    "lingua-all-low": "lingua, all 75 languages, low accuracy mode, preloaded",
    "lingua-13-pre": "lingua, the 13 benchmark languages, high accuracy, preloaded",
    "lingua-13-low": "lingua, the 13 benchmark languages, low accuracy mode, preloaded",
    "py3langid-all": "py3langid, all 97 languages, normalised probabilities",
    "py3langid-13": "py3langid, the 13 benchmark languages, normalised probabilities",
    "ensemble": "mean of lingua-all-pre and py3langid-all probabilities + WB_MASS x wb confidence on wb's en/es",
    "lingua-top5": "lingua restricted to py3langid-all's 5 best-ranked lingua languages, per-set detectors cached, lazy",
    "cascade": "py3langid-all + wb vote; if top < tau: full ensemble (lingua-all, lazy). Runs after tuning",
    "cascade-top5": "py3langid-all + wb vote; if top < tau: ensemble with lingua-top5. Runs after tuning",
}
CASCADES = {"cascade": "lingua-all-pre", "cascade-top5": "lingua-top5"}  # variant -> recorded lingua rankings
TOP5 = 5
TOP = 10  # languages kept from each detector's ranking (the ensemble uses these)
WB_MASS = 0.1  # weight of the project's detector inside the ensemble: the value tune_ensemble chose on dev


def ensemble_dist(lingua_d: dict, py_d: dict, wb: tuple, wb_mass: float) -> dict:
    """Mean of the two probability rankings, plus ``wb_mass * confidence`` on the project's en/es answer."""
    d = {k: 0.5 * lingua_d.get(k, 0.0) + 0.5 * py_d.get(k, 0.0) for k in set(lingua_d) | set(py_d)}
    wl, wc = wb
    if wl in ("en", "es") and wb_mass:
        d[wl] = d.get(wl, 0.0) + wb_mass * wc
    return d


def stage1_dist(py_d: dict, wb: tuple, wb_mass: float) -> dict:
    """Cascade stage 1: py3langid's probabilities plus ``wb_mass * confidence`` on the project's en/es answer."""
    d = dict(py_d)
    wl, wc = wb
    if wl in ("en", "es") and wb_mass:
        d[wl] = d.get(wl, 0.0) + wb_mass * wc
    return d


def top_of(d: dict) -> tuple:
    if not d:
        return None, 0.0, {}
    k = max(d, key=d.get)
    return k, d[k], d


def _rss_mb(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _no_network() -> list[str]:
    import socket
    attempts: list[str] = []

    def refuse(*a, **k):
        attempts.append(repr(a[:2]))
        raise OSError("network disabled by benchmarks/language_id.py")
    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    return attempts


def make_detector(name: str):
    """``predict(text) -> (language or None, confidence, {language: probability} of the top TOP)``."""
    if name == "wb":
        import importlib.util  # the module alone (stdlib only), not the package with its store/pandas imports
        spec = importlib.util.spec_from_file_location("wb_language", ROOT / "workbench" / "language.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["wb_language"] = mod
        spec.loader.exec_module(mod)
        detect = mod.function_words        # the function-word and filler detector alone (the cascade's vote)

        def predict(text):
            d = detect(text)
            return (None if d.language == "und" else d.language), d.confidence, {}
        return predict
    if name in ("product", "product-low"):  # what the workbench runs: workbench.language.detect (the cascade)
        import importlib.util
        spec = importlib.util.spec_from_file_location("wb_language_product", ROOT / "workbench" / "language.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules["wb_language_product"] = mod
        spec.loader.exec_module(mod)
        mod.LINGUA_LOW_ACCURACY = name == "product-low"

        def predict(text):
            d = mod.detect(text)
            return (None if d.language == "und" else d.language), d.confidence, dict(d.scores)
        return predict
    if name == "lingua-top5":
        py, lin5 = make_detector("py3langid-all"), lingua_top5()

        def predict(text):
            return top_of(lin5(text, py(text)[2]))
        predict.stats = lin5.stats
        return predict
    if name.startswith("lingua"):
        from lingua import IsoCode639_1, LanguageDetectorBuilder
        if "-all" in name:
            b = LanguageDetectorBuilder.from_all_languages()
        else:
            b = LanguageDetectorBuilder.from_iso_codes_639_1(*[getattr(IsoCode639_1, c.upper()) for c in LANGS])
        if name.endswith("-low"):
            b = b.with_low_accuracy_mode()
        if "-pre" in name or name.endswith("-low"):
            b = b.with_preloaded_language_models()
        det = b.build()

        def predict(text):
            vals = det.compute_language_confidence_values(text)
            d = {v.language.iso_code_639_1.name.lower(): v.value for v in vals[:TOP] if v.value > 0}
            return top_of(d)
        return predict
    if name.startswith("py3langid"):
        from py3langid.langid import MODEL_FILE, LanguageIdentifier
        ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        if name.endswith("-13"):
            ident.set_languages(list(LANGS))

        def predict(text):
            return top_of({k: float(v) for k, v in ident.rank(text)[:TOP]})
        return predict
    if name == "ensemble":
        lin, py, wb = make_detector("lingua-all-pre"), make_detector("py3langid-all"), make_detector("wb")

        def predict(text):
            w = wb(text)
            return top_of(ensemble_dist(lin(text)[2], py(text)[2], (w[0], w[1]), WB_MASS))
        return predict
    if name.startswith("cascade"):
        tau = float(os.environ["LANGID_TAU"])
        py, wb = make_detector("py3langid-all"), make_detector("wb")
        if name == "cascade":
            full = make_detector("lingua-all")

            def lin(text, py_d):
                return full(text)[2]
        else:
            lin = lingua_top5()

        def predict(text):
            py_d, w = py(text)[2], wb(text)[:2]
            k, p, _ = top_of(stage1_dist(py_d, w, WB_MASS))
            if k is not None and p >= tau:
                return k, p, 0
            k, p, _ = top_of(ensemble_dist(lin(text, py_d), py_d, w, WB_MASS))
            return k, p, 1
        if hasattr(lin, "stats"):
            predict.stats = lin.stats
        return predict
    raise SystemExit(f"unknown detector {name}")


def lingua_top5():
    """``dist(text, py3langid ranking) -> lingua probabilities over py3langid's 5 best lingua languages``."""
    from lingua import Language, LanguageDetectorBuilder
    by_code = {lang.iso_code_639_1.name.lower(): lang for lang in Language.all()}
    cache: dict = {}
    langs_seen: set = set()

    def dist(text, py_d):
        cands = [by_code[k] for k in sorted(py_d, key=py_d.get, reverse=True) if k in by_code][:TOP5]
        if len(cands) < 2:  # lingua needs two languages to choose from; py3langid alone then
            dist.stats["skipped"] += 1
            return {}
        key = frozenset(cands)
        det = cache.get(key)
        if det is None:
            det = cache[key] = LanguageDetectorBuilder.from_languages(*cands).build()
            langs_seen.update(cands)
            dist.stats["detectors"] = len(cache)
            dist.stats["languages"] = len(langs_seen)
        return {v.language.iso_code_639_1.name.lower(): v.value
                for v in det.compute_language_confidence_values(text) if v.value > 0}
    dist.stats = {"detectors": 0, "languages": 0, "skipped": 0}
    return dist


def worker(name: str, sets_path: str, out_path: str) -> None:
    attempts = _no_network()
    sets = json.loads(Path(sets_path).read_text(encoding="utf-8"))
    try:  # reset the peak-RSS mark so that the peak below is the detector's, not the JSON parse's
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    base = _rss_mb("VmRSS")
    t0 = time.perf_counter()
    predict = make_detector(name)
    build_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    predict(sets["sentences"][0]["text"])
    first_s = time.perf_counter() - t1
    mb_loaded = _rss_mb("VmRSS") - base
    res = {"name": name, "build_s": build_s, "first_s": first_s, "sets": {}}
    total_n, total_s = 0, 0.0
    if name.startswith("cascade"):  # a cold pass (lingua models load as texts need them), then the timed warm one
        t = time.perf_counter()
        for rows in sets.values():
            for r in rows:
                predict(r["text"])
        res["cold_s"] = time.perf_counter() - t
    for set_name, rows in sets.items():
        preds, t = [], time.perf_counter()
        for r in rows:
            preds.append(predict(r["text"]))
        if name == "wb" or name == "ensemble" or name.endswith("-13") or "-low" in name or name == "lingua-all":
            preds = [p[:2] for p in preds]  # only the detectors the ensemble is made of keep rankings
        dt = time.perf_counter() - t
        total_n, total_s = total_n + len(rows), total_s + dt
        res["sets"][set_name] = {"preds": preds, "seconds": dt}
    res["texts_per_s"] = total_n / total_s
    res["mb_after_load"] = mb_loaded
    res["mb_peak"] = _rss_mb("VmHWM") - base
    res["network_attempts"] = attempts
    res["stats"] = getattr(predict, "stats", {})
    Path(out_path).write_text(json.dumps(res), encoding="utf-8")


def run_worker(name: str, sets_path: str, tau: float | None = None) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = f.name
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "RAYON_NUM_THREADS": "1"}
    if tau is not None:
        env["LANGID_TAU"] = repr(tau)
    subprocess.run([sys.executable, __file__, "_worker", name, sets_path, out], check=True, env=env)
    res = json.loads(Path(out).read_text(encoding="utf-8"))
    os.unlink(out)
    return res


# ------------------------------------------------------------------------------------------- scoring

def score(rows: list[dict], preds: list, threshold: float = 0.0, only: str | None = None) -> dict:
    n = ok = und = 0
    per = defaultdict(lambda: [0, 0])
    for r, (lang, conf, *_) in zip(rows, preds):
        if only and r["part"] != only:
            continue
        n += 1
        if lang is None or conf < threshold:
            lang = None
            und += 1
        hit = lang == r["lang"]
        ok += hit
        per[r["lang"]][0] += hit
        per[r["lang"]][1] += 1
    dec = n - und
    return {"n": n, "acc": ok / n if n else 0.0, "und": und / n if n else 0.0,
            "decided": ok / dec if dec else 0.0, "per": {k: v[0] / v[1] for k, v in per.items()},
            "utility": (ok - 2 * (dec - ok)) / n if n else 0.0}


def combine(rows, lingua_preds, wb_preds, t: float, max_words: int, fallback: bool) -> list:
    """lingua, ``und`` below confidence ``t``; the project's detector decides texts of at most
    ``max_words`` words when it says en/es, and (``fallback``) any text lingua is unsure of."""
    out = []
    for r, (ll, lc, *_), (wl, wc, *_) in zip(rows, lingua_preds, wb_preds):
        if wl in ("en", "es") and n_words(r["text"]) <= max_words:
            out.append((wl, 1.0))
        elif ll is not None and lc >= t:
            out.append((ll, lc))
        elif fallback and wl is not None:
            out.append((wl, 1.0))
        else:
            out.append((None, 0.0))
    return out


def fmt(x: float) -> str:
    return f"{x:.3f}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("command", nargs="?", default="run", choices=["run", "build", "_worker"])
    ap.add_argument("rest", nargs="*")
    ap.add_argument("--only", nargs="+", choices=list(CONFIGS), help="detectors to run (default: all)")
    ap.add_argument("--mirror-root", default="/work/.mirror", help="for build: where the UD git dirs are")
    ap.add_argument("--primary", default="lingua-all-pre", help="lingua configuration the combination uses")
    ap.add_argument("--cascade-taus", nargs="*", type=float, default=[0.0, 0.9, 0.99, float("inf")],
                    help="tau values each cascade variant runs end to end at (besides the one chosen on dev)")
    a = ap.parse_args(argv)
    if a.command == "_worker":
        worker(*a.rest)
        return 0
    if a.command == "build":
        build(Path(a.mirror_root))
        return 0

    sets = all_sets()
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as f:
        json.dump(sets, f)
        sets_path = f.name
    names = a.only or list(CONFIGS)
    cascades = [n for n in names if n in CASCADES]
    names = [n for n in names if n not in CASCADES]
    results = {}
    try:
        for name in names:
            print(f"running {name} ...", file=sys.stderr, flush=True)
            results[name] = run_worker(name, sets_path)
        _print_tables(sets, results, a.primary)
        for variant in cascades:
            tuned = tune_cascade(sets, results, variant)
            if tuned is None:
                continue
            chosen, t_und = tuned
            runs = {}
            for tau in sorted(set(a.cascade_taus) | {chosen}):
                print(f"running {variant} tau={tau} ...", file=sys.stderr, flush=True)
                runs[tau] = run_worker(variant, sets_path, tau)
            report_cascade_runs(sets, results, variant, chosen, t_und, runs)
    finally:
        os.unlink(sets_path)
    return 0


def _print_tables(sets, results, primary) -> None:

    print("sets: " + ", ".join(f"{k} {len(v)} texts ({Counter(r['part'] for r in v)['test']} test)"
                               for k, v in sets.items()))
    print("speech: " + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r['lang'] for r in sets['speech']).items()))
          + " — project's own data, NOT held out from the team")
    print()
    print("== cost (one process per detector, single thread; load = import+build, first = first call)")
    print(f"{'detector':16} {'load s':>7} {'first s':>8} {'texts/s':>9} {'us/text':>8} {'MB load':>8} {'MB peak':>8} {'net':>4}")
    for name, r in results.items():
        print(f"{name:16} {r['build_s']:7.2f} {r['first_s']:8.3f} {r['texts_per_s']:9.0f} "
              f"{1e6 / r['texts_per_s']:8.0f} {r['mb_after_load']:8.0f} {r['mb_peak']:8.0f} {len(r['network_attempts']):4d}")
    print()
    print("== accuracy, all rows, no threshold (und/None counts as wrong; 'dec' = accuracy on decided)")
    print(f"{'detector':16} " + " ".join(f"{s + ' acc':>14} {'und':>5} {'dec':>5}" for s in sets))
    for name, r in results.items():
        cells = []
        for s, rows in sets.items():
            m = score(rows, r["sets"][s]["preds"])
            cells.append(f"{fmt(m['acc']):>14} {m['und']:5.2f} {fmt(m['decided']):>5}")
        print(f"{name:16} " + " ".join(cells))
    print()
    print("== accuracy, test part only (what no setting was chosen on)")
    print(f"{'detector':16} " + " ".join(f"{s + ' acc':>14} {'und':>5} {'dec':>5}" for s in sets))
    for name, r in results.items():
        cells = []
        for s, rows in sets.items():
            m = score(rows, r["sets"][s]["preds"], only="test")
            cells.append(f"{fmt(m['acc']):>14} {m['und']:5.2f} {fmt(m['decided']):>5}")
        print(f"{name:16} " + " ".join(cells))
    print()
    print("== accuracy per language (all rows, no threshold)")
    for s, rows in sets.items():
        langs = [l for l in LANGS if any(r["lang"] == l for r in rows)]
        print(f"-- {s}")
        print(f"{'detector':16} " + " ".join(f"{l:>5}" for l in langs))
        for name, r in results.items():
            per = score(rows, r["sets"][s]["preds"])["per"]
            print(f"{name:16} " + " ".join(f"{per.get(l, 0):5.2f}" for l in langs))
    print()

    if primary in results and "wb" in results:
        tune(sets, results, primary)
    if all(k in results for k in ("lingua-all-pre", "py3langid-all", "wb")):
        tune_ensemble(sets, results)
    for name in ("lingua-13-pre", "py3langid-13", "py3langid-all"):
        if name in results:
            tune_threshold(sets, results, name)


GRID_T = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def _macro_utility(sets, preds_by_set, part: str, t: float = 0.0) -> float:
    return sum(score(sets[s], preds_by_set[s], t, only=part)["utility"] for s in sets) / len(sets)


def _report(label: str, sets, preds_by_set, t: float = 0.0) -> None:
    cells = []
    for s in sets:
        m = score(sets[s], preds_by_set[s], t, only="test")
        cells.append(f"{fmt(m['acc']):>14} {m['und']:5.2f} {fmt(m['decided']):>5}")
    print(f"{label:44} " + " ".join(cells))


def tune_threshold(sets, results, name: str) -> None:
    preds = {s: results[name]["sets"][s]["preds"] for s in sets}
    best = max(GRID_T, key=lambda t: (_macro_utility(sets, preds, "dev", t), -t))
    print(f"== {name}: und threshold tuned on dev (utility = correct - 2*wrong, und = 0) → t={best}; test half:")
    print(f"{'':44} " + " ".join(f"{s + ' acc':>14} {'und':>5} {'dec':>5}" for s in sets))
    _report(f"{name} t=0", sets, preds)
    _report(f"{name} t={best}", sets, preds, best)
    print()


HEADER = f"{'rule (test half)':44} " + " ".join(f"{s + ' acc':>14} {'und':>5} {'dec':>5}"
                                                  for s in ("sentences", "short", "speech"))


def tune(sets, results, primary: str) -> None:
    """lingua alone with an und threshold, and lingua + the project's detector by rules."""
    lp = {s: results[primary]["sets"][s]["preds"] for s in sets}
    wp = {s: results["wb"]["sets"][s]["preds"] for s in sets}
    print(f"== lingua ({primary}) with an und threshold, and with the project's detector by rules;")
    print("   chosen on dev by the mean over the three sets of (correct - 2*wrong)/n (und scores 0), "
          "reported on test")
    print(HEADER)
    _report("wb alone", sets, wp)
    _report(f"{primary} t=0", sets, lp)
    t_best = max(GRID_T, key=lambda t: (_macro_utility(sets, lp, "dev", t), -t))
    _report(f"{primary} t={t_best} (tuned)", sets, lp, t_best)
    best = None
    for fallback in (False, True):
        for max_words in range(9):
            for t in GRID_T:
                cp = {s: combine(sets[s], lp[s], wp[s], t, max_words, fallback) for s in sets}
                key = (_macro_utility(sets, cp, "dev"), -max_words, -t)
                if best is None or key > best[0]:
                    best = (key, fallback, max_words, t, cp)
    _, fallback, max_words, t, cp = best
    _report(f"wb if en/es & <={max_words}w, else lingua t={t}" + (", wb if unsure" if fallback else ""), sets, cp)
    cp2 = {s: combine(sets[s], lp[s], wp[s], t_best, 0, True) for s in sets}
    _report(f"lingua t={t_best}, wb only when lingua unsure", sets, cp2)
    print()


def tune_ensemble(sets, results) -> None:
    """Mean of lingua-all and py3langid-all probabilities, plus the project's en/es vote; c and t on dev."""
    lp = {s: results["lingua-all-pre"]["sets"][s]["preds"] for s in sets}
    pp = {s: results["py3langid-all"]["sets"][s]["preds"] for s in sets}
    wp = {s: results["wb"]["sets"][s]["preds"] for s in sets}

    def preds(c):
        return {s: [top_of(ensemble_dist(l[2], p[2], (w[0], w[1]), c)) for l, p, w in zip(lp[s], pp[s], wp[s])]
                for s in sets}
    grid_c = [0.0, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]
    by_c = {c: preds(c) for c in grid_c}
    c_best = max(grid_c, key=lambda c: (_macro_utility(sets, by_c[c], "dev"), -c))
    t_best = max(GRID_T, key=lambda t: (_macro_utility(sets, by_c[c_best], "dev", t), -t))
    print("== ensemble, any language: mean of lingua-all-pre and py3langid-all probabilities (top 10 of each),")
    print("   plus c x confidence of the project's detector on its en/es answer; c, then the und threshold t on")
    print(f"   the confidence of the result, chosen on dev (same objective) → c={c_best}, t={t_best}")
    print(HEADER)
    _report("py3langid-all t=0", sets, pp)
    _report("lingua-all-pre + py3langid-all (c=0), t=0", sets, by_c[0.0])
    _report(f"ensemble c={c_best}, t=0", sets, by_c[c_best])
    _report(f"ensemble c={c_best}, t={t_best} (tuned)", sets, by_c[c_best], t_best)
    print(f"   -- test-half curve of the und threshold for c={c_best} (informative; not used to choose)")
    for t in (0.15, 0.2, 0.25, 0.3, 0.4, 0.5):
        _report(f"ensemble c={c_best}, t={t}", sets, by_c[c_best], t)
    print(f"   -- test half, turns under six words, by number of words (ensemble c={c_best}, t=0)")
    for s in ("short", "speech"):
        cells = []
        for k in range(1, 6):
            idx = [i for i, r in enumerate(sets[s]) if r["part"] == "test" and n_words(r["text"]) == k]
            if idx:
                ok = sum(by_c[c_best][s][i][0] == sets[s][i]["lang"] for i in idx)
                cells.append(f"{k}w {ok / len(idx):.3f} (n={len(idx)})")
        print(f"   {s:9} " + "  ".join(cells))
    print()


# ------------------------------------------------------------------------------------------- cascade

GRID_TAU = [0.0, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999, 1.0, 1.05, float("inf")]


def cascade_preds(sets, results, lingua_name: str, tau: float) -> tuple[dict, dict]:
    """Cascade predictions from recorded rankings: ``({set: [(lang, conf, reached lingua)]}, ...)``."""
    out = {}
    for s in sets:
        lp = results[lingua_name]["sets"][s]["preds"]
        pp = results["py3langid-all"]["sets"][s]["preds"]
        wp = results["wb"]["sets"][s]["preds"]
        rows = []
        for l, p, w in zip(lp, pp, wp):
            k, c, _ = top_of(stage1_dist(p[2], (w[0], w[1]), WB_MASS))
            if k is not None and c >= tau:
                rows.append((k, c, 0))
            else:
                k, c, _ = top_of(ensemble_dist(l[2], p[2], (w[0], w[1]), WB_MASS))
                rows.append((k, c, 1))
        out[s] = rows
    return out


def _reach(sets, preds, part: str | None = "test") -> dict:
    """Share of the texts (of ``part``) that reach lingua, per set and over all sets."""
    flags = {s: [p[2] for r, p in zip(sets[s], preds[s]) if part is None or r["part"] == part] for s in sets}
    out = {s: sum(f) / len(f) if f else 0.0 for s, f in flags.items()}
    allf = [x for f in flags.values() for x in f]
    out["all"] = sum(allf) / len(allf) if allf else 0.0
    return out


def _tau(t: float) -> str:
    return "inf" if t == float("inf") else f"{t:g}"


def tune_cascade(sets, results, variant: str):
    lingua_name = CASCADES[variant]
    need = (lingua_name, "py3langid-all", "wb")
    if not all(k in results for k in need):
        print(f"(skipping {variant}: needs {', '.join(need)} in --only)")
        return None
    by_tau = {t: cascade_preds(sets, results, lingua_name, t) for t in GRID_TAU}
    # und threshold: that of this variant's full ensemble (tau = inf) on dev, as tune_ensemble does for lingua-all
    t_und = max(GRID_T, key=lambda t: (_macro_utility(sets, by_tau[float("inf")], "dev", t), -t))
    util = {t: _macro_utility(sets, by_tau[t], "dev", t_und) for t in GRID_TAU}
    chosen = max(GRID_TAU, key=lambda t: (round(util[t], 6), -t))  # ties: the cheaper (lower) tau
    print(f"== {variant}: stage 1 = py3langid-all + {WB_MASS} x wb's en/es confidence; top >= tau → accept, else "
          f"ensemble with {lingua_name}")
    print(f"   (0.5 x lingua + 0.5 x py3langid + {WB_MASS} x wb). und below t={t_und}: this ensemble's (tau=inf) "
          "threshold on dev;")
    print(f"   then tau on dev by the mean over the sets of (correct - 2*wrong)/n (ties → lower tau) → tau={_tau(chosen)}."
          " '->L' = share of the test texts that reach lingua")
    print(f"{'tau':>6} {'dev util':>8}  " + " ".join(f"{s + ' acc':>14} {'und':>5} {'dec':>5} {'->L':>5}" for s in sets)
          + f" {'->L all':>7}")
    for t in GRID_TAU:
        reach = _reach(sets, by_tau[t])
        cells = []
        for s in sets:
            m = score(sets[s], by_tau[t][s], t_und, only="test")
            cells.append(f"{fmt(m['acc']):>14} {m['und']:5.2f} {fmt(m['decided']):>5} {reach[s]:5.2f}")
        mark = " <- chosen" if t == chosen else ""
        print(f"{_tau(t):>6} {util[t]:8.4f}  " + " ".join(cells) + f" {reach['all']:7.3f}{mark}")
    print()
    return chosen, t_und


def report_cascade_runs(sets, results, variant: str, chosen: float, t_und: float, runs: dict) -> None:
    n = sum(len(v) for v in sets.values())
    offline = {t: cascade_preds(sets, results, CASCADES[variant], t) for t in runs}
    print(f"== {variant}, end to end, one process per tau ({n} texts = dev+test of the three sets; single thread).")
    print("   ->L = share of these texts that reached lingua; cold = first pass (lingua models load as needed);")
    print("   warm = second pass, per set and overall; MB peak = VmHWM - RSS at start; =offline = share of answers")
    print("   equal to the recorded-rankings computation (same language, confidence within 1e-9)")
    print(f"{'tau':>6} {'->L':>6} {'load s':>7} {'cold s':>7} {'us cold':>8} "
          + " ".join(f"{'us ' + s[:5]:>8}" for s in sets) + f" {'us warm':>8} {'MB peak':>8} {'net':>4} "
          f"{'=offline':>8}  lingua detectors/languages")
    for t, r in runs.items():
        preds = {s: r["sets"][s]["preds"] for s in sets}
        reach = sum(p[2] for s in sets for p in preds[s]) / n
        same = sum(p[0] == o[0] and abs(p[1] - o[1]) < 1e-9 for s in sets for p, o in zip(preds[s], offline[t][s]))
        warm_s = sum(r["sets"][s]["seconds"] for s in sets)
        per_set = " ".join(f"{1e6 * r['sets'][s]['seconds'] / len(sets[s]):8.0f}" for s in sets)
        st = r.get("stats") or {}
        extra = f"{st.get('detectors', '-')}/{st.get('languages', '-')}" if st else ""
        print(f"{_tau(t):>6} {reach:6.3f} {r['build_s']:7.2f} {r['cold_s']:7.1f} {1e6 * r['cold_s'] / n:8.0f} "
              f"{per_set} {1e6 * warm_s / n:8.0f} {r['mb_peak']:8.0f} {len(r['network_attempts']):4d} "
              f"{same / n:8.4f}  {extra}" + ("  <- chosen" if t == chosen else ""))
    print()
    r = runs[chosen]
    preds = {s: r["sets"][s]["preds"] for s in sets}
    print(f"== {variant} tau={_tau(chosen)} (chosen on dev), und below t={t_und}, test half, accuracy per language"
          " (und/None = wrong); ->L = share that reached lingua")
    for s, rows in sets.items():
        langs = [l for l in LANGS if any(x["lang"] == l for x in rows)]
        m = score(rows, preds[s], t_und, only="test")
        reach = {l: [p[2] for x, p in zip(rows, preds[s]) if x["part"] == "test" and x["lang"] == l] for l in langs}
        print(f"-- {s}: acc {fmt(m['acc'])}, und {m['und']:.3f}, decided {fmt(m['decided'])}, n={m['n']}")
        print(f"{'':8} " + " ".join(f"{l:>5}" for l in langs))
        print(f"{'acc':8} " + " ".join(f"{m['per'].get(l, 0):5.2f}" for l in langs))
        print(f"{'->L':8} " + " ".join(f"{sum(v) / len(v):5.2f}" for v in reach.values()))
    print()


if __name__ == "__main__":
    raise SystemExit(main())
