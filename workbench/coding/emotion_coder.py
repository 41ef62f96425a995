"""``emotion@1`` as a coder: the GoEmotions family model (:mod:`.emotion_model`) with the lexicon.

The model gives Ekman family probabilities (English only); the rules coder's lexicon gives the fine
label and its evidence (cues, negation, sarcasm, complaints naming no feeling) on top. Spanish text
is coded by the bilingual lexicon, and the rationale says so; other languages are not this coder's
(``languages``: a chain given the texts' languages leaves them to a coder that covers them).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..language import detect
from .base import Coded, Suggestion, register
from .rules import RulesCoder, mask

LANGUAGE_NAMES = {"es": "Spanish", "fr": "French", "it": "Italian", "pt": "Portuguese", "de": "German", "ro": "Romanian"}
FAMILY_DEFAULT = {"anger": "annoyance", "disgust": "disgust", "fear": "nervousness", "joy": "joy",
                  "sadness": "disappointment", "surprise": "confusion", "neutral": "neutral"}


class ModelEmotionCoder:
    """``emotion@1``: the GoEmotions family model, with the lexicon for the fine label and the
    customer-service rule that a complaint naming no feeling is annoyance, not neutral."""

    def __init__(self, model, rules: RulesCoder, brands: Sequence[str] = ()) -> None:
        self.model = model
        self.rules = rules
        self.brands = tuple(brands)
        self.id = model.id
        self.dimensions = ("emotion",)
        # the model reads English; the lexicon's languages (English, Spanish) get the lexicon, as the rationale
        # says; any other language is not this coder's (the chain leaves it to a coder that covers it)
        self.languages = {"emotion": tuple(sorted({"en", *rules.languages.get("emotion", ())}))}

    def code(self, texts: Sequence[str], contexts: Sequence[str], groups: Sequence[str],
             prior: Mapping[str, Sequence[Suggestion | None]] | None = None) -> Coded:
        pains = (prior or {}).get("pain_point") or [self.rules.pain(t) for t in texts]
        return {"emotion": self.emotions(texts, pains)}

    def emotions(self, texts: Sequence[str], pains: Sequence[Suggestion]) -> list[Suggestion]:
        masked = [mask(t, self.brands) for t in texts]
        # the model learned English only: it reads text detected as English (or too short to tell);
        # any other language gets the bilingual lexicon, never the English model
        langs = [detect(t).language for t in masked]
        english = [t for t, lang in zip(masked, langs) if lang in ("en", "und")]
        if english:
            pdf = self.model.predict_proba(english)
            cols, probs = [str(c) for c in pdf.columns], iter(pdf.to_numpy(dtype=float))
        out = []
        for text, pain, lang in zip(masked, pains, langs):
            lex = self.rules.emotion(text, pain)
            if lang not in ("en", "und"):
                name = LANGUAGE_NAMES.get(lang, lang)
                out.append(Suggestion("emotion", lex.code_id, lex.confidence,
                                      f"{name} text, lexicon (the {self.id} model is English-only): {lex.rationale}",
                                      lex.value, lex.alternatives))
                continue
            p = next(probs)              # plain arrays, not a pandas Series per excerpt (the hot path)
            lex_family = self.rules.emotions[lex.code_id].attributes["family"]
            names, scores = cols, p.copy()
            why = f"model {self.id}: " + ", ".join(f"{cols[j]} {p[j]:.2f}" for j in np.argsort(-p, kind="stable")[:3])
            if lex.code_id != "neutral":
                # the lexicon (cues, negation, sarcasm, complaint rule) is evidence on top of the model
                boost = 1.0 if lex.sarcastic else 0.5 * lex.confidence
                if lex_family in names:
                    scores[names.index(lex_family)] += boost
                else:                    # a family of an edited codebook that the model does not know
                    names, scores = names + [lex_family], np.append(scores, boost)
                why += f"; lexicon: {lex.rationale} → {lex_family} +{boost:.2f}"
            ranked = np.argsort(-scores, kind="stable")
            total = scores.sum()
            family = names[ranked[0]]
            if family == "neutral" and pain.code_id != "none":
                family, why = "anger", why + f"; a complaint ({pain.code_id}) naming no feeling → annoyance"
            emotion = lex.code_id if lex_family == family and lex.code_id != "neutral" else FAMILY_DEFAULT[family]
            share = float(scores[ranked[0]] / total)
            alts = [(names[j], round(float(scores[j] / total), 2)) for j in ranked[1:4]]
            valence = self.rules.emotions[emotion].attributes["valence"]
            out.append(Suggestion("emotion", emotion, round(share, 3), why, round(valence, 3), alts,
                                  detail={"family_probs": {c: round(float(v), 4) for c, v in zip(cols, p)}}))
        return out


@register("emotion")
def emotion_coder(rules: RulesCoder, brands: Sequence[str] = (), **_) -> ModelEmotionCoder | None:
    """The GoEmotions model coder (None, with a message, when scikit-learn is missing)."""
    from . import emotion_model

    model = emotion_model.load()
    return ModelEmotionCoder(model, rules, brands) if model else None


__all__ = ["ModelEmotionCoder", "emotion_coder", "FAMILY_DEFAULT"]
