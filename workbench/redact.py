"""PII redaction: typed placeholders for e-mails, phones, cards, IBANs, IDs, token URLs, addresses and names.

A :class:`Redactor` is pure Python and knows nothing of the store. The ingest pipeline
(:func:`workbench.pipeline.ingest_paths` with ``redact=True``, ``workbench ingest --redact``) runs
it on every source after the reader and before anything is hashed, segmented or stored, so the
study only ever holds the redacted text and every offset refers to it::

    >>> r = Redactor(salt="demo")
    >>> r.redact("Soy Ana, mi correo es ana.garcia@example.com").text
    'Soy [PERSON_1], mi correo es [EMAIL]'

Detectors, in priority order (an earlier type wins where two overlap):

* ``URL`` — a link with a query string, a fragment, user info, an ``@`` or a token-like path
  segment (a reset link). A plain link (``https://horizonte.es/ayuda``) is kept: it names a
  touchpoint, not a person.
* ``EMAIL``.
* ``IBAN`` — ISO 13616, known country lengths, mod-97 check (spaces allowed).
* ``CARD`` — 13–19 digits (spaces or dashes in card-like groups), Luhn-valid.
* ``ID`` — Spanish DNI (8 digits + mod-23 letter), NIE (X/Y/Z + 7 digits + letter) and US SSN
  (ddd-dd-dddd without the invalid areas 000, 666, 9xx; spaced or unseparated only after "SSN").
* ``PHONE`` — Spanish (+34/0034, 9 digits from 6/7/8/9), US ((555) 123-4567, +1…), UK (+44, 07…,
  020…) and any other ``+``/``00`` international number of 8–15 digits; not after "order", "pedido",
  "ref"… and not before a currency.
* ``ADDRESS`` — EN ("12 Baker Street", "221B Baker St, London NW1 6XE") and ES ("Calle Mayor 5",
  "C/ Alcalá 23, 3ºB, 28014 Madrid", "Avenida de la Constitución 12") street patterns; UK
  postcodes; a Spanish postcode before a known city.
* ``PERSON`` — numbered per distinct name within a study (``[PERSON_3]``): speaker labels and names
  given to :meth:`Redactor.add_name` (interviewers, participants) wherever they recur as whole words;
  honorifics (Mr, Mrs, Ms, Dr, Sr., Sra., Don, Doña…) + capitalised words; a cue ("my name is",
  "me llamo", "soy", "le atiende") + capitalised words; and a given name from
  ``workbench/data/first_names.txt`` + optional capitalised surnames. A capitalised word that is not
  a known given name (a brand: Horizonte, United, Delta) is not a person.

Numbering persists across ingests without names in clear: the study keeps a random salt and
``HMAC-SHA256(salt, name)`` → n (:attr:`Redactor.persons`). That is pseudonymisation, not
anonymity: whoever has the study file (salt included) can test guessed names against it.
"""
from __future__ import annotations

import bisect
import hashlib
import hmac
import re
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable, Iterator

TYPES: tuple[str, ...] = ("URL", "EMAIL", "IBAN", "CARD", "ID", "PHONE", "ADDRESS", "PERSON")
_PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "van", "von", "der", "da", "di", "le"})
_DATA = Path(__file__).resolve().parent / "data"
KEEP = "_KEEP"      # a detector's span that is left as it is and that no later detector may take
_HASH_CHARS = 32   # hex digits of the HMAC kept per name (128 bits)


# ------------------------------------------------------------------ checksums
def luhn_ok(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d *= 2
            if d > 9:
                d -= 9
        total += d
        alt = not alt
    return total % 10 == 0


IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24,
    "SI": 19, "SK": 24, "SM": 27, "AE": 23, "BR": 29, "MX": 0, "TR": 26, "SA": 24, "IL": 23, "MA": 28,
}


def iban_ok(iban: str) -> bool:
    iban = iban.replace(" ", "").upper()
    if IBAN_LENGTHS.get(iban[:2]) != len(iban) or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    moved = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"


def dni_ok(number: str, letter: str) -> bool:
    return DNI_LETTERS[int(number) % 23] == letter.upper()


def nie_ok(prefix: str, number: str, letter: str) -> bool:
    return dni_ok(str("XYZ".index(prefix.upper())) + number, letter)


def ssn_ok(area: str, group: str, serial: str) -> bool:
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# ------------------------------------------------------------------ patterns
_B = r"(?<![\w@/.+-])"            # no word, e-mail, path or sign before
_E = r"(?![\w@-]|[.,]\d)"        # no word, e-mail or decimal after
_SEP = r"[ \u00a0.\-]"

URL_RE = re.compile(r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
IBAN_RE = re.compile(r"(?<![\w])([A-Z]{2})(\d{2})((?:[ \u00a0]?[A-Z0-9]){11,30})")
CARD_RE = re.compile(_B + r"\d(?:[ \u00a0-]?\d){12,18}" + _E)
DNI_RE = re.compile(r"(?<![\w.-])(\d{8}|\d{2}\.\d{3}\.\d{3})[ -]?([A-Za-z])(?![\w])")
NIE_RE = re.compile(r"(?<![\w-])([XYZxyz])[ -]?(\d{7})[ -]?([A-Za-z])(?![\w])")
SSN_RE = re.compile(_B + r"(\d{3})([- ]?)(\d{2})\2(\d{4})" + _E)
SSN_CONTEXT = re.compile(r"(?:ssn|social security(?: number)?|seguro social|n[uú]mero de la seguridad social)\W{0,12}$",
                         re.IGNORECASE)
PHONE_RE = re.compile(
    r"(?<![\w+/.,-])(?:(?:\+|00)[ \u00a0]?\d{1,3}[ \u00a0.\-]?(?:\(0\)[ \u00a0]?)?|\(\+?\d{1,3}\)[ \u00a0]?)?"
    r"(?:\(\d{2,5}\)[ \u00a0]?)?\d{1,11}(?:" + _SEP + r"{1,2}\d{1,8}){0,5}" + _E)
NOT_PHONE_BEFORE = re.compile(
    r"(?:order|pedido|ref|reference|referencia|invoice|factura|ticket|case|caso|expediente|tracking|seguimiento|"
    r"account|cuenta|contrato|contract|policy|p[oó]liza|n[ºo°]\.?|n[uú]m(?:ero)?\.?|#|id|cliente|customer|"
    r"serial|imei|lote|batch|code|c[oó]digo)\W{0,4}$", re.IGNORECASE)
CURRENCY_AFTER = re.compile(r"^\s?(?:€|eur\b|euros?\b|usd\b|\$|dollars?\b|d[oó]lares\b|£|gbp\b|pounds?\b|libras?\b|"
                            r"pesos?\b|%|percent|por ciento)", re.IGNORECASE)
CURRENCY_BEFORE = re.compile(r"(?:[€$£]|eur|usd|gbp)\s?$", re.IGNORECASE)

_CAP = r"[A-ZÁÉÍÓÚÑÜ][a-záéíóúñüç'’-]+"
_EN_STREET = (r"Street|St\.?|Road|Rd\.?|Avenue|Ave\.?|Lane|Ln\.?|Drive|Dr\.?|Boulevard|Blvd\.?|Way|Court|Ct\.?|"
              r"Place|Pl\.?|Close|Crescent|Terrace|Square|Sq\.?|Parkway|Pkwy\.?|Row|Gardens|Grove|Mews|Hill|Highway|Hwy\.?")
_UK_POSTCODE = r"(?:GIR ?0AA|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})"
ADDRESS_EN_RE = re.compile(
    r"(?<![\w])(?:(?:Flat|Apt\.?|Apartment|Unit|Suite)\s*#?\w{1,4},?\s+)?\d{1,5}[A-Za-z]?,?\s+(?:" + _CAP + r"\s+){1,3}"
    r"(?:" + _EN_STREET + r")(?![\w])"
    r"(?:,?\s*(?:Apt\.?|Apartment|Flat|Suite|Unit|#)\s*#?\w{1,5})?"
    r"(?:,\s*" + _CAP + r"(?:\s" + _CAP + r")?)?"
    r"(?:,?\s*(?:[A-Z]{2}\s+\d{5}(?:-\d{4})?|" + _UK_POSTCODE + r"))?(?![\w])")
_ES_STREET = (r"(?i:calle|c/|c\.|avenida|avda\.?|av\.|plaza|pza\.?|paseo|pº|camino|carretera|ctra\.?|ronda|"
              r"traves[ií]a|glorieta|rambla|callej[oó]n|urbanizaci[oó]n|urb\.|pasaje|carrer|pla[cç]a)")
_ES_LINK = r"(?:(?:de|del|de la|de las|de los|la|el|los|las|y|d'|l')\s*)"
_ES_NAME = r"(?:" + _ES_LINK + r"*(?:[A-ZÁÉÍÓÚÑ][\wáéíóúñü.'’-]*|\d{1,2} de [A-Z][a-z]+))"
ADDRESS_ES_RE = re.compile(
    r"(?<![\w])" + _ES_STREET + r"\s*" + _ES_NAME + r"(?:\s+" + _ES_NAME + r"){0,4},?\s*"
    r"(?:n\.?\s?[ºo°]\.?\s*|n[uú]m(?:ero)?\.?\s*)?\d{1,4}(?:\s?(?:bis|[A-Za-z](?![\w])))?"
    r"(?:,?\s*(?:\d{1,2}\s?[ºª°]\s?-?\s?[A-Za-z]?|(?:piso|planta|puerta|esc(?:alera)?\.?)\s*\w{1,3}|bajo|"
    r"(?:izda|izq|dcha|der|izquierda|derecha)\.?)(?![\w]))*"
    r"(?:,?\s*(?:0[1-9]|[1-4]\d|5[0-2])\d{3}(?:\s+[A-ZÁÉÍÓÚ][\wáéíóúñ]+(?:\s(?:de\s)?[A-Z][\wáéíóúñ]+)?)?)?")
ES_CITIES = ("Madrid|Barcelona|Valencia|Sevilla|Zaragoza|Málaga|Murcia|Palma|Bilbao|Alicante|Córdoba|Valladolid|Vigo|"
             "Gijón|Granada|Oviedo|Pamplona|Almería|Santander|Burgos|Salamanca|Logroño|Cádiz|Huelva|León|Toledo|Girona|"
             "Tarragona|Lleida|Badajoz|Cáceres|Albacete|Castellón|Jaén|Ourense|Lugo|Segovia|Ávila|Soria|Teruel|Huesca|"
             "Cuenca|Zamora|Palencia|Guadalajara|Getafe|Móstoles|Alcalá de Henares|Leganés|Fuenlabrada|Elche|Cartagena|"
             "Vitoria|Donostia|San Sebastián|A Coruña|La Coruña|Santiago de Compostela|Las Palmas|Santa Cruz de Tenerife")
POSTCODE_RE = re.compile(r"(?<![\w.,-])(?:(?:0[1-9]|[1-4]\d|5[0-2])\d{3}\s+(?:" + ES_CITIES + r")(?![\w])|"
                         r"(?:postcode|post code|zip(?: code)?|c\.?p\.?|c[oó]digo postal)[:\s]+(?:" + _UK_POSTCODE
                         + r"|\d{5}(?:-\d{4})?)(?![\w])|" + _UK_POSTCODE + r"(?![\w]))")

HONORIFICS = ("mr", "mrs", "ms", "miss", "mx", "dr", "prof", "sr", "sra", "srta", "don", "doña", "dña", "d", "señor",
              "señora", "señorita", "sir", "madam", "dra", "lic", "ing")
_HON_RE = r"(?:(?:Mr|Mrs|Ms|Mx|Dr|Dra|Prof|Sr|Sra|Srta|Dña|Lic|Ing)\.?|D\.|Miss|Don|Doña|(?i:señor|señora|señorita|doña)|Sir)"
_LOW = "a-záéíóúñüçàèìòùäëïöâêîôû"
_NAME_TOKEN = (r"[A-ZÁÉÍÓÚÑÜ][" + _LOW + r"]*(?:['’]?[A-ZÁÉÍÓÚÑÜ]?[" + _LOW + r"]+)+"
               r"(?:-[A-ZÁÉÍÓÚÑÜ][" + _LOW + r"]+)?")
HONORIFIC_RE = re.compile(r"(?<![\w])" + _HON_RE + r"[ \u00a0]?(" + _NAME_TOKEN + r"(?:\s+(?:de la |del |de los |de )?"
                          + _NAME_TOKEN + r"){0,2})")
CUE_RE = re.compile(
    r"(?:\b(?:[Mm]y name is|[Mm]y name's|[Nn]ame's|[Mm]e llamo|[Mm]i nombre es|[Ss]oy|[Ll]e atiende|[Tt]e atiende|"
    r"[Ll]e habla|[Tt]e habla|[Aa]tendid[oa] por|[Yy]ou can call me|[Cc]all me)\s+)"
    r"(" + _NAME_TOKEN + r"(?:\s+(?:de la |de los |de las )?" + _NAME_TOKEN + r"){0,2})")
THIS_IS_RE = re.compile(r"\b(?:[Tt]his is|[Ii]t's)\s+(" + _NAME_TOKEN + r")(?=,?\s+(?:from|speaking|here)\b)")
_SURNAME_RE = re.compile(r"[ \u00a0](?:(de la|de los|de las|van der|van|von|de|del|di|da|le|la)[ \u00a0])?("
                         + _NAME_TOKEN + r"|[A-ZÁÉÍÓÚÑ]{2,}|[A-Z]\.)(?![\w])")
WORD_RE = re.compile(r"[^\W\d_](?:[\w'’]|-(?=\w))*")
GIVEN_CONTINUATIONS = ("del Carmen", "del Mar", "del Pilar", "del Rosario", "del Rocío", "de los Ángeles",
                       "de las Nieves", "de la Cruz", "de la O", "de Jesús", "de la Paz", "del Sol")

#: Words that are never a surname or a name by themselves (capitalised for other reasons).
NOT_NAMES = frozenset("""
monday tuesday wednesday thursday friday saturday sunday lunes martes miércoles jueves viernes sábado domingo
january february march april may june july august september october november december enero febrero marzo abril
mayo junio julio agosto septiembre octubre noviembre diciembre street road avenue calle avenida plaza app web
ok okay hello hola thanks gracias yes no sí vale bueno perfecto sorry perdón please customer cliente agent agente
interviewer participant speaker hablante entrevistador entrevistadora moderator moderadora user usuario usuaria
unknown desconocido system sistema bot chatbot assistant asistente operator operador operadora advisor asesor asesora
support soporte team equipo service servicio care atención inc ltd sa sl plc llc group grupo bank banco premium plus
pro card tarjeta account cuenta online app iphone android english spanish inglés español the el la los las de del
""".split())
#: Speaker labels that are not names (beside role words and labels with digits: P1, agent_042).
GENERIC_LABELS = frozenset({"speaker", "hablante", "voice", "voz", "unknown", "desconocido", "system", "sistema",
                            "narrator", "narrador", "caller", "llamante", "guest", "invitado", "invitada", "both",
                            "all", "todos", "audience", "público", "man", "woman", "hombre", "mujer", "other", "otro",
                            "otra", "ivr", "auto", "automated", "note", "nota"})


@lru_cache(maxsize=1)
def first_names() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, the ambiguous ones among them), casefolded, from ``data/first_names.txt``."""
    names, ambiguous = set(), set()
    for line in (_DATA / "first_names.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key = _norm(line.rstrip("*"))
        names.add(key)
        if line.endswith("*"):
            ambiguous.add(key)
    return frozenset(names), frozenset(ambiguous)


@lru_cache(maxsize=1)
def _stop() -> frozenset[str]:
    try:
        from .text import stop_words
        return stop_words()
    except Exception:   # pragma: no cover - the stop-word files ship with the package
        return frozenset()


def _norm(name: str) -> str:
    """The key a name is numbered by: NFC, case-folded, honorifics and dots dropped, spaces collapsed."""
    s = unicodedata.normalize("NFC", name).replace("’", "'").casefold()
    words = [w.strip(".,") for w in s.split()]
    while len(words) > 1 and words[0] in HONORIFICS:
        words = words[1:]
    return " ".join(w for w in words if w)


class _Spans:
    """Non-overlapping ``[start, end)`` spans, sorted; :meth:`add` refuses one that overlaps (O(log n) to check)."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []

    def add(self, a: int, b: int) -> bool:
        i = bisect.bisect_right(self.starts, a)
        if (i and self.ends[i - 1] > a) or (i < len(self.starts) and self.starts[i] < b):
            return False
        self.starts.insert(i, a)
        self.ends.insert(i, b)
        return True


# ------------------------------------------------------------------ results
@dataclass(frozen=True, slots=True)
class Hit:
    start: int
    end: int
    type: str
    name: str = ""   # PERSON: the name found (kept in memory only)


@dataclass
class Redaction:
    """The redacted text, the placeholders' spans in it, and what they replaced (in memory only)."""

    text: str
    spans: list[tuple[int, int, str]] = field(default_factory=list)   # (start, end, TYPE) in the redacted text
    counts: Counter = field(default_factory=Counter)


# ------------------------------------------------------------------ the redactor
class Redactor:
    """Finds PII and replaces it with typed placeholders; ``[PERSON_n]`` is numbered per distinct name.

    ``salt`` keys the name hashes (a study keeps one, random, in its info); ``persons`` is the
    ``hash → n`` map of earlier ingests. Names found are remembered (hashed in :attr:`persons`, in
    clear only in this object's memory) and replaced wherever they recur as whole words.
    """

    def __init__(self, salt: str | bytes | None = None, persons: dict[str, int] | None = None,
                 names: Iterable[str] = (), types: Iterable[str] = TYPES) -> None:
        salt = salt if salt is not None else secrets.token_hex(16)
        self.salt = salt.encode() if isinstance(salt, str) else salt
        self.persons: dict[str, int] = dict(persons or {})
        self.types = frozenset(types)
        unknown = self.types - set(TYPES)
        if unknown:
            raise ValueError(f"Unknown PII type(s) {', '.join(sorted(unknown))}; known: {', '.join(TYPES)}.")
        self._known: dict[str, int] = {}       # normalised name → n (this run only)
        self._forms: set[str] = set()           # exact forms to match case-sensitively (speaker labels as written)
        self._forms_re: re.Pattern | None = None
        self._given, self._ambiguous = first_names()
        for n in names:
            self.add_name(n)

    # ---------------------------------------------------------------- names
    @staticmethod
    def new_salt() -> str:
        return secrets.token_hex(16)

    def _hash(self, key: str) -> str:
        return hmac.new(self.salt, key.encode("utf-8"), hashlib.sha256).hexdigest()[:_HASH_CHARS]

    def _lookup(self, key: str) -> int | None:
        n = self._known.get(key)
        if n is None and self.persons:
            n = self.persons.get(self._hash(key))
            if n is not None:
                self._known[key] = n
        return n

    def _next(self) -> int:
        return max(self.persons.values(), default=0) + 1

    def person_number(self, name: str, register_parts: bool = True) -> int:
        """The number of this name (a new one if unseen); its words are registered too (setdefault)."""
        key = _norm(name)
        n = self._lookup(key)
        words = [w for w in WORD_RE.findall(key) if w not in _PARTICLES]
        if n is None and len(words) > 1:
            # "Ana García" after "Sra. García": one person; after the speaker "Ana": the speaker
            n = self._lookup(words[-1])
            if n is None and any(_norm(f) == words[0] for f in self._forms):
                n = self._lookup(words[0])
            if n is not None:
                self._known[key] = n
                self.persons[self._hash(key)] = n
        if n is None:
            n = self._next()
            self._known[key] = n
            self.persons[self._hash(key)] = n
        if register_parts:
            if len(words) > 1:
                for w in words:
                    if len(w) > 1 and w not in NOT_NAMES and w not in _stop() and self._lookup(w) is None:
                        self._known[w] = n
                        self.persons[self._hash(w)] = n
        return n

    def add_names(self, names: Iterable[str]) -> None:
        for n in sorted(names):
            self.add_name(n)

    def add_name(self, name: str, exact: bool = True) -> int | None:
        """Register a known person's name (a speaker label, an interviewer); None if it is not a name."""
        name = " ".join(str(name).split())
        if not looks_like_name(name):
            return None
        n = self.person_number(name)
        if exact:
            from .ingest.speakers import role_word
            self._forms.add(name)
            for w in WORD_RE.findall(name):
                k = _norm(w)
                if len(w) > 1 and k not in NOT_NAMES and k not in HONORIFICS and k not in _stop() \
                        and k not in GENERIC_LABELS and role_word(k) is None:
                    self._forms.add(w)
            self._forms_re = None
        return n

    # ---------------------------------------------------------------- detection
    def detect(self, text: str, register: bool = True) -> list[Hit]:
        """Non-overlapping hits, sorted by position (earlier types of :data:`TYPES` win overlaps)."""
        taken = _Spans()
        hits: list[Hit] = []
        for typ in TYPES:
            if typ not in self.types:
                continue
            found = self._persons(text, register) if typ == "PERSON" else _PATTERN_DETECTORS[typ](text)
            for h in found:
                if h.end > h.start and taken.add(h.start, h.end):
                    if h.type != KEEP:
                        hits.append(h)
        hits.sort(key=lambda h: h.start)
        return hits

    def _persons(self, text: str, register: bool) -> list[Hit]:
        cands: list[tuple[int, int, str]] = []
        # 1. names already known (this run or, hashed, earlier ingests)
        cands += self._known_occurrences(text)
        # 2. honorific + capitalised words: "Sra. García", "Mr Smith"
        for m in HONORIFIC_RE.finditer(text):
            name = self._trim_name(m.group(1))
            if name:
                cands.append((m.start(), m.start(1) + len(name), m.group(0)[: m.start(1) - m.start() + len(name)]))
        # 3. cues: "my name is Xenia", "soy Iker", "le atiende Nahia"
        for rx in (CUE_RE, THIS_IS_RE):
            for m in rx.finditer(text):
                name = self._trim_name(m.group(1))
                if name:
                    cands.append((m.start(1), m.start(1) + len(name), name))
        # 4. a known given name, then optional surnames
        for m in WORD_RE.finditer(text):
            w = m.group(0)
            key = _norm(w)
            if key not in self._given or not (w[0].isupper() and (w[1:].islower() or (w.isupper() and len(w) > 2))):
                continue
            a, b = m.start(), m.end()
            b = self._extend_surnames(text, b)
            if key in self._ambiguous and b == m.end() and (_sentence_initial(text, a)
                                                            or not _mid_sentence_name_context(text, a, b)):
                continue
            cands.append((a, b, text[a:b]))
        # the longest candidate wins where they overlap ("Ana García" over "Ana")
        out: list[Hit] = []
        taken = _Spans()
        for a, b, name in sorted(cands, key=lambda c: (c[0] - c[1], c[0])):
            if taken.add(a, b):
                out.append(Hit(a, b, "PERSON", name))
        out.sort(key=lambda h: h.start)
        if register:
            for h in out:
                self.person_number(h.name)
        return out

    def _trim_name(self, name: str) -> str:
        """Keep the leading words that can be names (not a stop word or a common capitalised word)."""
        kept = []
        for w in name.split():
            if _norm(w) in NOT_NAMES or _norm(w) in _stop():
                break
            kept.append(w)
        while kept and kept[-1].lower() in ("de", "la", "los", "las"):
            kept.pop()
        return " ".join(kept) if kept and len(kept[0]) > 1 else ""

    def _extend_surnames(self, text: str, end: int, max_words: int = 3) -> int:
        """Extend a given name over "del Carmen", then up to ``max_words`` capitalised surnames."""
        for cont in GIVEN_CONTINUATIONS:
            if text.startswith(" " + cont, end) and not _word_char(text, end + 1 + len(cont)):
                end += 1 + len(cont)
                break
        for _ in range(max_words):
            m = _SURNAME_RE.match(text, end)
            if not m:
                break
            word = m.group(2)
            key = _norm(word)
            if key in NOT_NAMES or key in _stop() or (word.isupper() and key not in self._given and len(word) > 1
                                                      and not text[end - 1].isupper()):
                break
            if m.group(1) and m.group(1).lower() in ("de", "del"):   # "Laura de Horizonte": "of", not a surname
                break
            end = m.end()
        return end

    def _known_occurrences(self, text: str) -> Iterator[tuple[int, int, str]]:
        """Whole-word occurrences of known names: exact forms, then capitalised word runs (1–4 words)."""
        if self._forms:
            if self._forms_re is None:
                alts = "|".join(re.escape(f) for f in sorted(self._forms, key=len, reverse=True))
                self._forms_re = re.compile(r"(?<![\w])(?:" + alts + r")(?![\w])")
            for m in self._forms_re.finditer(text):
                yield m.start(), m.end(), m.group(0)
        if not self._known and not self.persons:
            return
        words = [m for m in WORD_RE.finditer(text)]
        i = 0
        while i < len(words):
            w = words[i].group(0)
            if not (w[0].isupper() or _norm(w) in HONORIFICS):
                i += 1
                continue
            hit = None
            for j in range(min(len(words), i + 4) - 1, i - 1, -1):
                gap_ok = all(re.fullmatch(r"\.?[ \u00a0]", text[words[k].end():words[k + 1].start()])
                             for k in range(i, j))
                if not gap_ok:
                    continue
                a, b = words[i].start(), words[j].end()
                key = _norm(text[a:b])
                if not key or key in NOT_NAMES or key in _stop():
                    continue
                if not words[j].group(0)[0].isupper():
                    continue
                if self._lookup(key) is not None:
                    hit = (a, b, j)
                    break
            if hit:
                yield hit[0], hit[1], text[hit[0]:hit[1]]
                i = hit[2] + 1
            else:
                i += 1

    # ---------------------------------------------------------------- redaction
    def placeholder(self, hit: Hit) -> str:
        if hit.type == "PERSON":
            return f"[PERSON_{self.person_number(hit.name)}]"
        return f"[{hit.type}]"

    def learn(self, text: str) -> None:
        """Register the names in ``text`` without redacting (first pass over a source)."""
        if "PERSON" in self.types:
            self._persons(text, register=True)

    def redact(self, text: str, learn: bool = True) -> Redaction:
        """Replace every hit by its placeholder. ``learn``: register the text's names first, so a surname
        met alone before its full name is replaced too (:meth:`redact_source` learns a whole source first)."""
        if learn:
            self.learn(text)
        hits = self.detect(text)
        parts, spans, counts = [], [], Counter()
        pos = out_len = 0
        for h in hits:
            parts.append(text[pos:h.start])
            out_len += h.start - pos
            ph = self.placeholder(h)
            parts.append(ph)
            spans.append((out_len, out_len + len(ph), h.type))
            out_len += len(ph)
            counts[h.type] += 1
            pos = h.end
        parts.append(text[pos:])
        return Redaction("".join(parts), spans, counts)

    def redact_value(self, value: Any) -> Any:
        """Strings (also inside dicts and lists) redacted; numbers and other values kept."""
        if isinstance(value, str):
            return self.redact(value).text if value else value
        if isinstance(value, dict):
            return {k: self.redact_value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.redact_value(v) for v in value)
        return value

    def redact_name(self, value: str | None) -> str | None:
        """A field that holds one person (a participant): ``[PERSON_n]`` if it is a name, else redacted text."""
        if not value:
            return value
        n = self.add_name(value, exact=True) if looks_like_name(value) and not _has_digit(value) else None
        return f"[PERSON_{n}]" if n is not None else self.redact(value).text

    def _regions(self, source: Any) -> list[tuple[int, int, int | None]]:
        """The source text cut at turn boundaries: ``(start, end, turn index or None)``."""
        bounds: list[tuple[int, int, int | None]] = []
        pos = 0
        for i, t in enumerate(source.turns):
            if t.start > pos:
                bounds.append((pos, t.start, None))
            bounds.append((t.start, t.end, i))
            pos = max(pos, t.end)
        if pos < len(source.text):
            bounds.append((pos, len(source.text), None))
        return bounds

    def source_hits(self, source: Any) -> list[Hit]:
        """What :meth:`redact_source` would replace, as spans of the *original* text (for evaluation)."""
        for t in source.turns:
            if is_name_label(t.speaker):
                self.add_name(t.speaker)
        regions = self._regions(source)
        for a, b, _ in regions:            # first pass: learn every name of the source
            self.learn(source.text[a:b])
        out = []
        for a, b, _ in regions:
            out += [Hit(h.start + a, h.end + a, h.type, h.name) for h in self.detect(source.text[a:b])]
        return out

    def redact_source(self, source: Any) -> Counter:
        """Redact a :class:`~workbench.model.Source` in place: text (turn spans remapped), speakers, metadata.

        Detection runs on each turn and each stretch between turns separately, so no placeholder
        crosses a turn boundary and turn spans stay exact. Returns the counts by type.
        """
        counts: Counter = Counter()
        text = source.text
        regions = self._regions(source)
        hits = self.source_hits(source)
        pieces: list[str] = []
        new_spans: dict[int, tuple[int, int]] = {}
        out_len = 0
        k = 0
        for a, b, ti in regions:
            start_len, pos = out_len, a
            while k < len(hits) and hits[k].start < b:
                h = hits[k]
                pieces.append(text[pos:h.start])
                ph = self.placeholder(h)
                pieces.append(ph)
                out_len += (h.start - pos) + len(ph)
                counts[h.type] += 1
                pos = h.end
                k += 1
            pieces.append(text[pos:b])
            out_len += b - pos
            if ti is not None:
                new_spans[ti] = (start_len, out_len)
        source.text = "".join(pieces)
        speakers: dict[str, str] = {}
        for i, t in enumerate(source.turns):
            t.start, t.end = new_spans[i]
            if t.speaker not in speakers:
                speakers[t.speaker] = self.redact_name(t.speaker) if is_name_label(t.speaker) else self.redact(t.speaker).text
            t.speaker = speakers[t.speaker]
            if t.meta:
                t.meta = self.redact_value(t.meta)
        if source.participant:
            source.participant = self.redact_name(source.participant)
        for f in ("segment", "channel"):
            if getattr(source, f):
                setattr(source, f, self.redact(getattr(source, f)).text)
        source.meta = self.redact_value(source.meta)
        if source.key:
            key = self.redact(source.key).text
            if key != source.key:
                source.name = source.name.replace(source.key, key)
                source.key = key
        return counts


# ------------------------------------------------------------------ pattern detectors
def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def _has_digit(s: str) -> bool:
    return any(c.isdigit() for c in s)


def _sentence_initial(text: str, i: int) -> bool:
    j = i - 1
    while j >= 0 and text[j] in " \t\u00a0\"'«“(*-":
        j -= 1
    return j < 0 or text[j] in "\n.!?¿¡:;…"


def _mid_sentence_name_context(text: str, a: int, b: int) -> bool:
    """An ambiguous given name alone mid-sentence (``with Rosa,``): a name unless a lower-case word of the
    same phrase follows directly ("Rose gold", "Mark the box" are caught by the sentence-start rule)."""
    nxt = re.match(r"[ \u00a0]+([^\W\d_]+)", text[b:b + 30])
    before = text[max(0, a - 12):a].lower()
    if re.search(r"(?:\b(?:in|en|de|of|since|desde|until|hasta|last|next|el|the)\s+)$", before) and \
            _norm(text[a:b]) in {"may", "june", "april", "august", "summer", "dawn", "mar", "sol", "luz", "paz"}:
        return False
    return not (nxt and nxt.group(1).islower() and _norm(text[a:b]) in {"rose", "grace", "hope", "faith", "joy", "will",
                                                                         "mark", "may", "bill", "pat", "frank"})


def looks_like_name(s: str) -> bool:
    """Could this string name a person (letters, 1–5 words, not a role or generic label)?"""
    s = s.strip()
    if not s or len(s) > 60 or _has_digit(s) or "@" in s or "/" in s:
        return False
    words = s.replace("_", " ").split()
    if not 1 <= len(words) <= 5 or not any(c.isalpha() for c in s):
        return False
    keys = [_norm(w) for w in words]
    if all(k in NOT_NAMES or k in GENERIC_LABELS or k in HONORIFICS for k in keys):
        return False
    return True


def is_name_label(speaker: str) -> bool:
    """A speaker label that names a person ("Ana", "Dr. Ruiz"), not a role ("Interviewer", "P1", "agent_042")."""
    from .ingest.speakers import role_word
    s = (speaker or "").strip()
    if not looks_like_name(s) or role_word(s) is not None:
        return False
    words = [_norm(w) for w in s.replace("_", " ").split()]
    return not all(w in GENERIC_LABELS or role_word(w) is not None or w in NOT_NAMES for w in words)


def _urls(text: str) -> Iterator[Hit]:
    for m in URL_RE.finditer(text):
        url = m.group(0).rstrip(".,;:!?)»”'\"")
        if _secret_url(url):
            yield Hit(m.start(), m.start() + len(url), "URL")


_TOKEN_SEG = re.compile(r"[A-Za-z0-9_\-.=~%]{12,}")


def _secret_url(url: str) -> bool:
    body = re.sub(r"^(?:[a-z]+://)?", "", url, flags=re.IGNORECASE)
    host, _, path = body.partition("/")
    if "@" in body or re.search(r"[?#]\S", url) or ";" in path:
        return True
    for seg in re.split(r"[/&=]", path):
        if _TOKEN_SEG.fullmatch(seg):
            letters, digits = sum(c.isalpha() for c in seg), sum(c.isdigit() for c in seg)
            mixed_case = any(c.isupper() for c in seg) and any(c.islower() for c in seg)
            if (digits >= 2 and letters >= 2) or (len(seg) >= 20 and (mixed_case or digits)) or \
                    re.fullmatch(r"[0-9a-fA-F]{16,}", seg) or re.fullmatch(r"[A-Za-z0-9]{16,}", seg):
                return True
    return False


def _emails(text: str) -> Iterator[Hit]:
    for m in EMAIL_RE.finditer(text):
        yield Hit(m.start(), m.end(), "EMAIL")


def _ibans(text: str) -> Iterator[Hit]:
    for m in IBAN_RE.finditer(text):
        country = m.group(1)
        length = IBAN_LENGTHS.get(country)
        if not length:
            continue
        # walk exactly `length` alphanumerics (spaces in between), so a following word is not eaten
        i, n = m.start(), 0
        while i < len(text) and n < length:
            if text[i].isalnum():
                n += 1
            elif text[i] not in " \u00a0" or (i + 1 < len(text) and not text[i + 1].isalnum()):
                break
            i += 1
        if n != length or _word_char(text, i):
            continue
        # a checksum-invalid IBAN is kept, and no other detector may take its digits (a "card" inside it)
        yield Hit(m.start(), i, "IBAN" if iban_ok(text[m.start():i].replace("\u00a0", " ")) else KEEP)


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def _cards(text: str) -> Iterator[Hit]:
    for m in CARD_RE.finditer(text):
        s = m.group(0)
        d = _digits(s)
        if not 13 <= len(d) <= 19 or not luhn_ok(d) or len(set(d)) < 2:
            continue
        groups = [len(g) for g in re.split(r"[ \u00a0-]", s)]
        if len(groups) > 1 and not (groups[:-1] == [4] * (len(groups) - 1) and 1 <= groups[-1] <= 4
                                    or groups in ([4, 6, 5], [4, 6, 4], [4, 4, 4, 4, 3])):
            continue
        if NOT_PHONE_BEFORE.search(text[max(0, m.start() - 24):m.start()]):
            continue
        yield Hit(m.start(), m.end(), "CARD")


def _ids(text: str) -> Iterator[Hit]:
    for m in DNI_RE.finditer(text):
        if dni_ok(m.group(1).replace(".", ""), m.group(2)):
            yield Hit(m.start(), m.end(), "ID")
    for m in NIE_RE.finditer(text):
        if nie_ok(m.group(1), m.group(2), m.group(3)):
            yield Hit(m.start(), m.end(), "ID")
    for m in SSN_RE.finditer(text):
        if not ssn_ok(m.group(1), m.group(3), m.group(4)):
            continue
        if m.group(2) != "-" and not SSN_CONTEXT.search(text[max(0, m.start() - 40):m.start()]):
            continue
        yield Hit(m.start(), m.end(), "ID")


def phone_ok(s: str) -> bool:
    """Is this digit string (with its separators) a plausible ES, US, UK or international number?"""
    core = s.strip().replace("(0)", "")
    intl = core.lstrip("(").startswith(("+", "00"))
    d = _digits(core)
    if core.lstrip("(").startswith("00"):
        d = d[2:]
    lens = [len(g) for g in re.split(r"\D+", core) if g]
    if intl:
        if d.startswith("34"):
            return len(d) == 11 and d[2] in "6789"
        if d.startswith("1"):
            return len(d) == 11 and d[1] in "23456789"
        if d.startswith("44"):
            return len(d) in (11, 12) and d[2] in "123578"
        return 8 <= len(d) <= 15
    if len(d) == 9 and d[0] in "6789":           # Spanish: 612 345 678, 612 34 56 78, 91 123 45 67, 612345678
        return len(lens) == 1 or all(2 <= n <= 3 for n in lens) or lens in ([3, 6], [2, 7])
    if len(d) == 10 and d[0] in "23456789" and lens == [3, 3, 4]:     # US: (555) 123-4567, 555-123-4567
        return True
    if len(d) == 11 and d[0] == "1" and lens == [1, 3, 3, 4]:         # US: 1-800-555-0199
        return True
    if d.startswith("0") and len(d) in (10, 11) and d[1] in "123578" and len(lens) > 1 and 3 <= lens[0] <= 5:
        return True                                                     # UK: 07700 900123, 020 7946 0958
    return False


def _phones(text: str) -> Iterator[Hit]:
    for m in PHONE_RE.finditer(text):
        s = m.group(0)
        if len(_digits(s)) < 7:
            continue
        # try the whole match, then without trailing groups ("612 345 678 2 veces")
        cands = [s]
        cut = s
        while True:
            k = max(cut.rfind(" "), cut.rfind("."), cut.rfind("-"))
            if k <= 0:
                break
            cut = cut[:k].rstrip(" .-\u00a0")
            cands.append(cut)
        for c in cands:
            if not phone_ok(c):
                continue
            a, b = m.start(), m.start() + len(c)
            if NOT_PHONE_BEFORE.search(text[max(0, a - 24):a]) or CURRENCY_BEFORE.search(text[max(0, a - 5):a]) \
                    or CURRENCY_AFTER.match(text[b:b + 12]) or (b < len(text) and text[b] in ":/"):
                break
            yield Hit(a, b, "PHONE")
            break


def _addresses(text: str) -> Iterator[Hit]:
    for rx in (ADDRESS_EN_RE, ADDRESS_ES_RE, POSTCODE_RE):
        for m in rx.finditer(text):
            s = m.group(0).rstrip(" ,")
            yield Hit(m.start(), m.start() + len(s), "ADDRESS")


_PATTERN_DETECTORS = {"URL": _urls, "EMAIL": _emails, "IBAN": _ibans, "CARD": _cards, "ID": _ids, "PHONE": _phones,
                      "ADDRESS": _addresses}


def summary_line(counts: dict[str, int]) -> str:
    """``"3 EMAIL, 2 PHONE, 5 PERSON"`` in the order of :data:`TYPES` (``"nothing"`` when empty)."""
    parts = [f"{counts[t]} {t}" for t in TYPES if counts.get(t)]
    return ", ".join(parts) if parts else "nothing"


__all__ = ["TYPES", "Hit", "Redaction", "Redactor", "dni_ok", "first_names", "iban_ok", "is_name_label", "looks_like_name",
           "luhn_ok", "nie_ok", "phone_ok", "ssn_ok", "summary_line"]
