"""Rule coders (``rules@2``): cue phrases from the codebooks, negation, context and sequence.

Transparent by design: every suggestion carries the cue that fired and why. They are the
always-available baseline that model-based coders plug in beside.

* **stage** — cue scores per stage, plus the preceding turn (an interviewer's question names the
  stage being discussed), then Viterbi smoothing along a source: journeys mostly stay or move
  forward, so an excerpt without cues inherits its neighbours' stage, and a recalled earlier
  stage is allowed when its cues are strong.
* **pain point** — the most specific non-negated cue; severity from blocking or mitigating words.
* **emotion** — lexicon cues with negation, intensifiers, contrast ("but"/"pero": the clause after
  wins), emoji and sarcasm markers; a complaint with no feeling word is annoyance (anger family),
  as in customer-service text most negative experience names no emotion.
* **touchpoint / actor / backstage / opportunity / activity / thought** — first cue found, or empty
  (activities come from the stage model's own activities codebook).
"""
from __future__ import annotations

import math
import re
from typing import Mapping, Sequence

from ..model import Codebook
from .base import CUE_DIMENSIONS, Coded, Suggestion, register
from .cues import NEGATORS, CueMatch, CueMatcher, fold

CODER_ID = "rules@2"
STAGE_CONTEXT_WEIGHT = 0.5    # cues in the question or turn before an excerpt
STAY = 0.70                   # chance the next excerpt stays in the same stage

_INTENSIFIERS = frozenset("very really so super extremely totally absolutely muy tan super realmente totalmente fatal".split())
_CONTRAST = re.compile(r"\b(but|however|though|pero|aunque|sin embargo)\b")
_SARCASM = re.compile(r"(oh (great|fantastic|brilliant|wonderful|perfect)|love that for me|\bgreat\.\s*$|"
                      r"\bthanks a lot\b|\bcomo no\b|pues muy bien|muy bien,? horizonte|^claro\.|genial,? gracias\.?$|"
                      r"what a surprise|\bsure\.\s*$)")
_EMOJI = {"🙂": "joy", "😊": "joy", "😀": "joy", "😃": "joy", "😁": "joy", "👍": "approval", "❤": "love", "🎉": "excitement",
          "😍": "love", "🙏": "gratitude", "😡": "anger", "😠": "anger", "👎": "disapproval", "😢": "sadness",
          "😞": "disappointment", "😭": "sadness", "😱": "fear", "🤔": "confusion", "😂": "amusement", "🤣": "amusement"}


def _cues(cb: Codebook, languages: Sequence[str] | None = None) -> dict[str, tuple[str, ...]]:
    """Cue phrases per code; only the given languages (plus language-less cues) when set."""
    keep = None if not languages else set(languages) | {"any"}
    return {c.code_id: tuple(p for lang, phrases in c.cues.items() if keep is None or lang in keep for p in phrases)
            for c in cb.codes}


_LEVEL_NAMES = {1: "minor", 2: "major", 3: "blocking"}
_QUESTION = re.compile(r"[?¿]")


class SeverityGrader:
    """Severity 1–3 of a voiced pain from the pain codebook's ``severity_cues``.

    The most severe level whose (non-negated) cue is found wins; with no cue, a question is minor (1:
    the customer is asking, not yet stuck) and anything else major (2, the rubric's default for a
    voiced pain). A codebook without severity cues grades every pain 2, and says so.
    """

    def __init__(self, pain_points: Codebook, languages: Sequence[str] | None = None) -> None:
        keep = None if not languages else set(languages) | {"any"}
        cues = {str(level): tuple(p for lang, phrases in by_lang.items() if keep is None or lang in keep for p in phrases)
                for level, by_lang in getattr(pain_points, "severity_cues", {}).items()}
        self.matcher = CueMatcher(cues) if cues else None

    def grade(self, text: str) -> tuple[int, str]:
        """(level, rationale), e.g. (3, "severity 3 (blocking): 'gave up'")."""
        if self.matcher is None:
            return 2, "severity 2 (no severity cues in this codebook)"
        found: dict[int, list[str]] = {}
        for m in self.matcher.find(text):
            if not m.negated:
                found.setdefault(int(m.code_id), []).append(m.cue)
        for level in (3, 2, 1):
            if level in found:
                return level, f"severity {level} ({_LEVEL_NAMES[level]}): " + ", ".join(f"'{c}'" for c in dict.fromkeys(found[level]))
        if _QUESTION.search(text):
            return 1, "severity 1 (minor): a question, no sign of lost time, money or a blocked step"
        return 2, "severity 2 (major): a voiced pain, no cue of a minor or blocking one"


class RulesCoder:
    """Codes excerpts with the given codebooks; ``code`` takes excerpts in source order."""

    id = CODER_ID
    dimensions = ("stage", "pain_point", "emotion") + CUE_DIMENSIONS

    def __init__(self, stages: Codebook, pain_points: Codebook, emotions: Codebook,
                 touchpoints: Codebook | None = None, actors: Codebook | None = None,
                 languages: Sequence[str] | None = None, backstage: Codebook | None = None,
                 opportunities: Codebook | None = None, activities: Codebook | None = None,
                 thoughts: Codebook | None = None) -> None:
        self.stage_model = stages
        self.stage_ids = [c.code_id for c in stages.ordered]
        # without evidence, lean to the codebook's default stage (else the middle of the journey)
        self.default_stage = stages.default or self.stage_ids[len(self.stage_ids) // 2]
        self.emotions = {c.code_id: c for c in emotions.codes}
        self.m_stage = CueMatcher(_cues(stages, languages))
        self.m_pain = CueMatcher(_cues(pain_points, languages))
        self.severity = SeverityGrader(pain_points, languages)
        self.m_emotion = CueMatcher(_cues(emotions, languages))
        #: the codebook of each dimension other than the stage (the study stores them at coding time)
        self.codebooks = {dim: cb for dim, cb in zip(self.dimensions[1:], (pain_points, emotions, touchpoints, actors,
                                                                            backstage, opportunities, activities, thoughts))
                          if cb}
        #: dimensions coded by their first non-negated cue (touchpoint … thought), with their matchers
        self.cue_matchers = {dim: CueMatcher(_cues(self.codebooks[dim], languages))
                             for dim in CUE_DIMENSIONS if dim in self.codebooks}
        self.versions = {cb.name: cb.version for cb in (stages, *self.codebooks.values())}
        # the languages whose cues it holds, per dimension (cue lists are written per language)
        keep = set(languages) if languages else None
        # ("any": cues such as emoji match every language, but do not make the dimension covered in one)
        self.languages = {dim: tuple(sorted({lang for c in cb.codes for lang in c.cues
                                             if lang != "any" and (keep is None or lang in keep)}))
                          for dim, cb in {"stage": stages, **self.codebooks}.items()}

    def code(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
             prior: Mapping[str, Sequence[Suggestion | None]] | None = None) -> Coded:
        """Every dimension with a codebook; emotions are read with @handles and URLs masked."""
        pains = [self.pain(t) for t in texts]
        out: Coded = {"stage": list(self.stages(texts, contexts, groups)), "pain_point": list(pains),
                      "emotion": [self.emotion(mask(t), p) for t, p in zip(texts, pains)]}
        for dim, matcher in self.cue_matchers.items():
            out[dim] = [self.first(matcher, dim, t) for t in texts]
        if "thought" in out and any(c.code_id == "question" for c in self.codebooks["thought"].codes):
            # a question mark is a question even without a question word ("Sent where?", "¿Diez días?")
            out["thought"] = [s if s is not None or not _QUESTION.search(t) else
                              Suggestion("thought", "question", 0.6, "a question mark → question")
                              for s, t in zip(out["thought"], texts)]
        return out

    def stages_for(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
                   uniq: Sequence[str], inverse: Sequence[int]) -> list[Suggestion]:
        """The stage of every excerpt when the other dimensions were coded on distinct texts only
        (:class:`~workbench.coding.base.Chain`): the cues need no per-text evidence, so as :meth:`stages`."""
        return self.stages(texts, contexts, groups)

    # ------------------------------------------------------------------ dimensions
    def pain(self, text: str) -> Suggestion:
        matches = self.m_pain.find(text)
        live = [m for m in matches if not m.negated]
        if not live:
            why = "no pain cue"
            if matches:
                why = "negated complaint: " + ", ".join(f"'{m.cue}'" for m in matches) + " (not counted)"
            return Suggestion("pain_point", "none", 0.6 if matches else 0.5, why)
        counts: dict[str, int] = {}
        for m in live:
            counts[m.code_id] = counts.get(m.code_id, 0) + 1
        best = max(counts, key=lambda k: (counts[k], -min(m.start for m in live if m.code_id == k)))
        severity, why_severity = self.severity.grade(text)
        cues = ", ".join(f"'{m.cue}'" for m in live if m.code_id == best)
        conf = min(0.95, 0.55 + 0.15 * counts[best])
        alts = sorted(((k, round(min(0.95, 0.55 + 0.15 * v), 2)) for k, v in counts.items() if k != best),
                      key=lambda kv: -kv[1])
        return Suggestion("pain_point", best, conf, f"cue {cues} → {best}; {why_severity}", float(severity), alts)

    def emotion(self, text: str, pain: Suggestion | None = None) -> Suggestion:
        folded = fold(text)
        # contrast: the clause after the last "but"/"pero" carries the evaluation, if it has cues
        clause_start = 0
        for m in _CONTRAST.finditer(folded):
            clause_start = m.end()
        matches = self.m_emotion.find(text)
        tail = [m for m in matches if m.start >= clause_start]
        used = tail or matches
        scores: dict[str, float] = {}
        notes = []
        words = folded.split()
        for m in used:
            code = self.emotions[m.code_id]
            valence = code.attributes["valence"]
            emo = m.code_id
            if m.negated:  # "not happy" → disapproval; "not worried" → neutral-ish relief
                emo = "disapproval" if valence > 0 else "relief" if valence < -0.3 else "neutral"
                notes.append(f"negated '{m.cue}'")
            weight = 1.0
            idx = len(folded[:m.start].split())
            if idx > 0 and idx - 1 < len(words) and words[idx - 1] in _INTENSIFIERS:
                weight = 1.5
            scores[emo] = scores.get(emo, 0.0) + weight
            notes.append(f"cue '{m.cue}'")
        for ch, emo in _EMOJI.items():
            if ch in text:
                scores[emo] = scores.get(emo, 0.0) + 1.0
                notes.append(f"emoji {ch}")
        sarcasm = _SARCASM.search(folded)
        sarcastic = bool(sarcasm) and (pain is None or pain.code_id != "none" or any(
            self.emotions[k].attributes["valence"] > 0 for k in scores if k in self.emotions))
        if sarcastic:
            scores = {"annoyance": max(scores.values(), default=0.0) + 1.0}
            notes = [f"sarcasm marker '{sarcasm.group(0).strip()}'"]
        if not scores:
            if pain is not None and pain.code_id != "none":
                return self._emotion_result("annoyance", 0.55, f"complaint without a feeling word ({pain.code_id}) → annoyance", [])
            return self._emotion_result("neutral", 0.5, "no emotion cue", [])
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        total = sum(scores.values())
        best, top = ranked[0]
        conf = round(min(0.95, 0.45 + 0.5 * top / total * min(1.0, top / 2 + 0.5)), 3)
        alts = [(k, round(v / total, 2)) for k, v in ranked[1:4]]
        result = self._emotion_result(best, conf, "; ".join(dict.fromkeys(notes)), alts, intensity=max(1.0, top))
        result.sarcastic = sarcastic
        return result

    def _emotion_result(self, emo: str, conf: float, why: str, alts: list, intensity: float = 1.0) -> Suggestion:
        valence = self.emotions[emo].attributes["valence"] if emo in self.emotions else 0.0
        valence = max(-1.0, min(1.0, valence * (1.25 if intensity >= 1.5 else 1.0)))
        return Suggestion("emotion", emo, conf, why, round(valence, 3), alts)

    def first(self, matcher: CueMatcher | None, dimension: str, text: str) -> Suggestion | None:
        if matcher is None:
            return None
        live = [m for m in matcher.find(text) if not m.negated]
        if not live:
            return None
        return Suggestion(dimension, live[0].code_id, 0.7, f"cue '{live[0].cue}' → {live[0].code_id}")

    def stage_scores(self, text: str, context: str = "") -> tuple[dict[str, float], list[CueMatch]]:
        scores = {s: 0.0 for s in self.stage_ids}
        own = [m for m in self.m_stage.find(text) if not m.negated]
        for m in own:
            scores[m.code_id] += 1.0
        for m in self.m_stage.find(context):
            if not m.negated:
                scores[m.code_id] += STAGE_CONTEXT_WEIGHT
        return scores, own

    def stages(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
               emission=None, emission_weight: float = 1.0) -> list[Suggestion]:
        """Stage per excerpt, smoothed along each group (source) in order.

        ``emission`` (rows of stage probabilities in ``stage_ids`` order, e.g. from an embedding
        head) is further evidence: its log-probabilities, times ``emission_weight``, are added to
        the cues' before smoothing, and a source without any cue is smoothed on it alone.
        """
        out: list[Suggestion | None] = [None] * len(texts)
        order: dict[str, list[int]] = {}
        for i, g in enumerate(groups):
            order.setdefault(g, []).append(i)
        k = len(self.stage_ids)
        trans = [[math.log(_transition(a, b, k)) for b in range(k)] for a in range(k)]
        memo: dict[tuple[str, str], tuple[dict[str, float], list[CueMatch]]] = {}    # repeated turns: cues read once
        for idx in order.values():
            emissions, evidence = [], []
            for i in idx:
                key = (texts[i], contexts[i])
                if key not in memo:
                    memo[key] = self.stage_scores(texts[i], contexts[i])
                scores, own = memo[key]
                total = sum(scores.values())
                probs = [(scores[s] + 0.25) / (total + 0.25 * k) for s in self.stage_ids]
                row = [math.log(p) for p in probs]
                if emission is not None:
                    row = [a + emission_weight * math.log(max(float(b), 1e-6)) for a, b in zip(row, emission[i])]
                emissions.append(row)
                evidence.append((scores, own, total))
            if emission is None and not any(total for _, _, total in evidence):
                # nothing in this whole conversation points to a stage: the codebook's default
                for i in idx:
                    out[i] = Suggestion("stage", self.default_stage, 0.25,
                                        f"no stage cue in this source: default stage {self.default_stage}")
                continue
            path = _viterbi(emissions, trans)
            marginals = _posteriors(emissions, trans) if emission is not None else None
            for pos, (i, state) in enumerate(zip(idx, path)):
                scores, own, total = evidence[pos]
                stage = self.stage_ids[state]
                if own:
                    why = "cue " + ", ".join(f"'{m.cue}'" for m in own)
                    conf = 0.5 + 0.4 * scores[stage] / total if total else 0.5
                    if scores[stage] == 0:
                        why += f" (for {own[0].code_id}), but the sequence around it says {stage}"
                        conf = 0.4
                elif total:
                    why = "the question or turn before it points to " + max(scores, key=lambda s: scores[s])
                    conf = 0.45 if scores[stage] else 0.35
                elif emission is not None:
                    why = "no cue: its meaning and the excerpts around it"
                    conf = 0.35
                else:
                    why = "no cue: inherits the stage of the excerpts around it"
                    conf = 0.3
                if marginals is not None:   # with a model's evidence: the posterior probability of the stage given
                    conf = marginals[pos][state]  # the whole source (forward-backward), a calibratable probability
                ranked = sorted(((s, v / total) for s, v in scores.items() if s != stage and v), key=lambda kv: -kv[1]) if total else []
                out[i] = Suggestion("stage", stage, round(min(conf, 0.95), 3), why, None, [(s, round(v, 2)) for s, v in ranked[:3]])
        return [o for o in out if o is not None]


def _transition(a: int, b: int, k: int) -> float:
    """Stay STAY (0.70); of the rest: 60 % next stage, 15 % two ahead, 25 % shared by earlier stages (a recall)."""
    if a == b:
        return STAY
    rest = 1.0 - STAY            # split as before: 60 % next, 15 % two ahead, 25 % back, the remainder further ahead
    if b == a + 1:
        return rest * 0.6
    if b == a + 2:
        return rest * 0.15
    if b < a:
        return rest * 0.25 / a
    return rest * 0.025


def _viterbi(emissions: list[list[float]], trans: list[list[float]]) -> list[int]:
    k = len(emissions[0])
    score = list(emissions[0])
    back: list[list[int]] = []
    for e in emissions[1:]:
        ptr, new = [], []
        for b in range(k):
            a = max(range(k), key=lambda a: score[a] + trans[a][b])
            ptr.append(a)
            new.append(score[a] + trans[a][b] + e[b])
        back.append(ptr)
        score = new
    state = max(range(k), key=lambda s: score[s])
    path = [state]
    for ptr in reversed(back):
        state = ptr[state]
        path.append(state)
    return path[::-1]


@register("rules")
def rules_coder(stage_model="awareness_advocacy", languages: Sequence[str] | None = None,
                activities: Codebook | None = None, **_) -> RulesCoder:
    """The rules coder with the shipped codebooks and a stage model (name, YAML path or codebook), plus
    ``activities`` or else the activities codebook the stage model names."""
    from ..codebook import resolve
    from ..errors import CodebookError

    stages = stage_model if isinstance(stage_model, Codebook) else resolve(stage_model)
    if stages.dimension != "stage":
        raise CodebookError(f"'{stage_model}' is a {stages.dimension} codebook; --codebook takes a stage model "
                            "(e.g. awareness_advocacy, attraction_service, b2b_seven or your YAML file).")
    return RulesCoder(stages, resolve("pain_points"), resolve("emotions"), resolve("touchpoints"), resolve("actors"),
                      languages=languages, backstage=resolve("backstage"), opportunities=resolve("opportunities"),
                      activities=activities or stage_activities(stages), thoughts=resolve("thoughts"))


def stage_activities(stages: Codebook) -> Codebook | None:
    """The activities codebook a stage model names (``activities:``, a shipped name or a path — made
    absolute from the stage model's file when it was loaded), checked against the model: every
    activity's ``stage`` must be one of its stages."""
    from ..codebook import resolve
    from ..errors import CodebookError

    if not stages.activities:
        return None
    acts = resolve(stages.activities)
    if acts.dimension != "activity":
        raise CodebookError(f"Stage model {stages.name}: 'activities: {stages.activities}' is a {acts.dimension} "
                            "codebook; it must have dimension 'activity'.")
    ids = {c.code_id for c in stages.codes}
    wrong = [f"{c.code_id} (stage '{c.attributes['stage']}')" for c in acts.codes
             if c.attributes.get("stage") and c.attributes["stage"] not in ids]
    if wrong:
        raise CodebookError(f"Activities codebook {acts.name}: {', '.join(wrong[:5])} name stages that stage model "
                            f"{stages.name} does not have ({', '.join(sorted(ids))}). Fix the 'stage' of those codes.")
    return acts


def _posteriors(emissions: list[list[float]], trans: list[list[float]]) -> list[list[float]]:
    """P(state at t | all emissions) by forward-backward in log space (uniform start)."""
    def lse(v: list[float]) -> float:
        m = max(v)
        return m + math.log(sum(math.exp(x - m) for x in v))

    k, n = len(emissions[0]), len(emissions)
    fwd = [list(emissions[0])]
    for e in emissions[1:]:
        fwd.append([e[b] + lse([fwd[-1][a] + trans[a][b] for a in range(k)]) for b in range(k)])
    bwd = [[0.0] * k for _ in range(n)]
    for t in range(n - 2, -1, -1):
        bwd[t] = [lse([trans[a][b] + emissions[t + 1][b] + bwd[t + 1][b] for b in range(k)]) for a in range(k)]
    out = []
    for t in range(n):
        row = [f + b for f, b in zip(fwd[t], bwd[t])]
        z = lse(row)
        out.append([math.exp(x - z) for x in row])
    return out


def sentiment(valence: float) -> str:
    """Three-class sentiment derived from valence, so the two never disagree."""
    return "positive" if valence > 0.15 else "negative" if valence < -0.15 else "neutral"


_HANDLE = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+|www\.\S+")


def mask(text: str, brands: Sequence[str] = ()) -> str:
    """Hide @handles, URLs and brand names before scoring: "United" or "Delta" are not feelings."""
    text = _URL.sub(" ", _HANDLE.sub(" ", text))
    for b in brands:
        text = re.sub(rf"(?i)\b{re.escape(b)}\b", " ", text)
    return text


__all__ = ["RulesCoder", "Suggestion", "sentiment", "mask", "rules_coder", "CODER_ID", "NEGATORS"]
