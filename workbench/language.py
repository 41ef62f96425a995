"""Offline language identification for short spoken text (English and Spanish first).

Why not a general-purpose detector: interview turns are short and full of fillers ("yeah",
"o sea"), where character n-gram models trained on web text guess wildly, and the common ones
either download models or are slow. This detector scores function words and fillers, which
dominate speech, plus orthographic marks (ñ, ¿, ¡, accents). It knows English and Spanish well and
French, Portuguese, German and Italian enough to say "this is not en/es". Text with too little
evidence gets ``"und"`` and callers fall back to the source's language.

    >>> detect("Pues la verdad es que tardaron tres días.").language
    'es'
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

UNDETERMINED = "und"

_WORDS: dict[str, str] = {
    "en": """the a an and or but so of to in on at for with from by about as is are was were be been being
        am i you he she it we they me him her us them my your his its our their this that these those
        there here what which who whom whose when where why how not no yes yeah yep nope okay ok
        do does did done have has had having will would can could should shall might must just
        really very too also then than because if like um uh erm hmm mm well actually basically
        anyway kind sort lot got get getting went go going gone said say says know think thought
        mean guess pretty right sure thanks thank please sorry hi hello bye all some any every
        much many more most out up down over after before again still already only even never
        always something nothing anything everything someone nobody one two three it's i'm don't
        didn't can't won't that's there's they're you're i've i'd wasn't isn't couldn't""",
    "es": """el la los las un una unos unas y o pero que de del al en con por para sin sobre entre es son
        era eran fue fueron ser estar está están estaba estaban he ha han había hemos yo tú usted
        él ella nosotros vosotros ellos ellas me te se nos os le les lo mi mis tu tus su sus
        nuestro este esta estos estas ese esa eso esto aquí allí ahí qué quién cuál cuándo dónde
        cómo porque porqué cuando donde como muy más menos también tampoco ya todavía aún sí no
        bueno pues vale vamos o sea eh mmm claro hombre mira oye vaya verdad nada algo todo todos
        cada mucho muchos poco otro otra hay hace hacer hice hizo tengo tiene tienen tenía
        puedo puede pueden quiero quería dije dijo creo sé sabes digo entonces luego después
        antes siempre nunca gracias hola adiós dos tres""",
    "pt": """o os as um uma e ou mas que de do da dos das em no na nos nas com por para é são foi
        não sim eu você ele ela nós eles elas meu minha isso isto aqui muito mais também já
        ainda obrigado obrigada então porque quando onde como tem tenho""",
    "fr": """le la les un une des et ou mais que qui de du au aux en dans avec pour par sur est sont
        était été être je tu il elle nous vous ils elles mon ma mes ton ta ce cette ces ça
        oui non pas très plus aussi déjà encore merci alors parce quand où comment avoir""",
    "de": """der die das ein eine und oder aber dass von zu im in mit für auf ist sind war waren
        sein ich du er sie es wir ihr mein dein nicht ja nein sehr auch schon noch danke dann
        weil wenn wo wie haben hat habe""",
    "it": """il lo la gli le un una e o ma che di del della dei in nel con per su è sono era stato
        essere io tu lui lei noi voi loro mio mia non sì molto più anche già ancora grazie
        allora perché quando dove come ho hai ha""",
}
_LEXICON: dict[str, frozenset[str]] = {lang: frozenset(ws.split()) for lang, ws in _WORDS.items()}
#: word → the languages whose function words include it (one dict lookup per word).
_WORD_LANGS: dict[str, tuple[str, ...]] = {}
for _lang, _lex in _LEXICON.items():
    for _w in _lex:
        _WORD_LANGS[_w] = _WORD_LANGS.get(_w, ()) + (_lang,)
_MARKS = {"es": "ñ¿¡", "pt": "ãõç", "fr": "çèêëàâîïôûœ", "de": "äöüß", "it": "ò"}
_ACCENTS_ES = "áéíóú"
_ANY_MARK = re.compile("[" + "".join(sorted(set("".join(_MARKS.values()) + _ACCENTS_ES))) + "]")
_WORD_RE = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Detection:
    language: str
    confidence: float
    scores: dict[str, float]


def detect(text: str, languages: tuple[str, ...] | None = None, min_evidence: float = 2.0) -> Detection:
    """Detect the language of ``text``; ``"und"`` when there is not enough evidence."""
    lower = text.lower()
    words = _WORD_RE.findall(lower)
    scores: dict[str, float] = {}
    get = _WORD_LANGS.get
    for w in words:
        for lang in get(w, ()):
            scores[lang] = scores.get(lang, 0.0) + 1.0
    if _ANY_MARK.search(lower):
        for lang, marks in _MARKS.items():
            hits = sum(lower.count(m) for m in marks)
            if hits:
                scores[lang] = scores.get(lang, 0.0) + 1.5 * min(hits, 4)
        acc = sum(lower.count(ch) for ch in _ACCENTS_ES)
        if acc:
            scores["es"] = scores.get("es", 0.0) + 0.5 * min(acc, 6)
    if languages:
        scores = {k: v for k, v in scores.items() if k in languages}
    if not scores:
        return Detection(UNDETERMINED, 0.0, {})
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top < min_evidence and not (words and top >= 1 and len(words) <= 2 and second == 0):
        return Detection(UNDETERMINED, 0.0, scores)
    if top == second:
        return Detection(UNDETERMINED, 0.0, scores)
    confidence = round((top - second) / top, 3)
    return Detection(best, confidence, scores)


def summarise(parts: list[tuple[str, int]], mixed_share: float = 0.10) -> tuple[str, dict[str, float], bool]:
    """Combine per-turn detections ``(language, n_chars)`` into a source-level answer.

    Returns the dominant language, the share of characters per language, and whether the source
    is mixed (a second language holds at least ``mixed_share`` of the determined characters).
    """
    totals: Counter[str] = Counter()
    for lang, n in parts:
        if lang != UNDETERMINED:
            totals[lang] += n
    total = sum(totals.values())
    if not total:
        return UNDETERMINED, {}, False
    shares = {k: round(v / total, 3) for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))}
    ranked = list(shares.items())
    mixed = len(ranked) > 1 and ranked[1][1] >= mixed_share
    return ranked[0][0], shares, mixed
