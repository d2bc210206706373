"""The sector taxonomy of the European Cluster Collaboration Platform, and what the matcher does with it.

Profiles and objectives are often lists in the platform's terms ("Sectoral Industries: Business
Services; Emerging industries: Creative Industries") that share few words with prose about the same
organisation, or prose in another language. Each label of `data/taxonomy/` carries the words an
organisation of that sector writes about itself, in English and the scheme's main languages. A text
that names a label, or uses its words, evokes the label; the matcher adds one token per evoked label
(its *concept*) to the host's profile and to the objectives, so "Business Services" meets a profile
that speaks of consulting, and "Lebensmittelindustrie" meets one that speaks of food processing.

Terms match on folded tokens, stop words included ("industria de la madera" as written); a word of
six letters or more also matches the words that begin with its stem ("vehicles" meets "vehicle",
"motoryzacyjny" meets "motoryzacyjnej", "Lebensmittel" meets "Lebensmittelindustrie"); an acronym
("IT", "AI", "IoT") matches only as written, so that "it" and Italian "ai" evoke nothing.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from cx import PROJECT_ROOT
from cx.ecosystems import ECOSYSTEMS

TAXONOMY_DIR = PROJECT_ROOT / "data" / "taxonomy"
LANGUAGES = ("en", "de", "fr", "es", "it", "pl")
LIST_EMPHASIS = 5  # a label listed in the platform's terms counts as if written five times (measured)
CONCEPT_MARK = "_"  # a concept token is "_" and nine hex digits: one word, never met in prose

# The platform's field names, which say where a label is filed and nothing about the organisation.
FIELD_NAMES = re.compile(
    r"\b(?:sectoral\s+industr(?:y|ies)|technology\s+fields?|s3\s+(?:eu\s+)?priority\s+areas?|"
    r"emerging\s+industr(?:y|ies)|industrial\s+ecosystems?|ecosystems?|other)\s*:", re.IGNORECASE)

# Words that say nothing about a field, technology or market: objectives made only of them are too
# general to rank hosts by, and a host is never shown as matching on them.
GENERAL_WORDS = frozenset("""
    want wants wanted wish need needs learn learning know understand see visit visiting
    new things thing stuff something ideas idea lot lots good better best great nice interesting
    help helps helping based members member services service support supporting solutions companies
    company organisation organisations organization organizations cluster clusters partner partners
    cooperation collaboration together work working activities activity opportunities people
    experience experiences exchange exchanges field fields area areas sector sectors topics topic
    possible different various many main make making take way ways like etc
""".split())

_TOKEN = re.compile(r"\w+")
_STEM_FROM = 6  # words of this length or more match by their stem: without a final -ies, -es, -s or vowel
_ENDINGS = re.compile(r"(?:ies|es|s|[aeioy])$")


@lru_cache(maxsize=200_000)
def _folded(text: str) -> str:
    """Without accents, case folded (as `cx.matching.fold`, which cannot be imported here: cx.matching
    imports this module); cached, since the same words recur across profiles."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _is_acronym(token: str) -> bool:
    return sum(c.isupper() for c in token) >= 2


@dataclass(frozen=True)
class Label:
    """One label of a list of the taxonomy, with the words that evoke it."""
    list: str
    name: str
    aliases: tuple[str, ...]
    ecosystems: tuple[str, ...]
    vocabulary: dict  # language -> tuple of terms

    @property
    def concept(self) -> str:
        return concept_token(self.name)


def concept_token(name: str) -> str:
    """The one-word token that stands for a label (labels of the same name in two lists are one
    concept). A digest, so that the character n-grams of two concepts have nothing in common."""
    digest = hashlib.blake2s(" ".join(_TOKEN.findall(_folded(name))).encode(), digest_size=5)
    return CONCEPT_MARK + digest.hexdigest()[:9]


@lru_cache(maxsize=1)
def labels() -> tuple[Label, ...]:
    """Every label of every list in data/taxonomy/, in file order."""
    found = []
    for path in sorted(TAXONOMY_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        for entry in data["label"]:
            vocabulary = {language: tuple(t.strip() for t in entry.get(language, "").split(",") if t.strip())
                          for language in LANGUAGES}
            if data["list"] == "Industrial ecosystems":  # their English words live with the demo's
                vocabulary["en"] += tuple(ECOSYSTEMS.get(entry["name"], ()))
            found.append(Label(data["list"], entry["name"], tuple(entry.get("aliases", ())),
                               tuple(entry.get("ecosystems", ())), vocabulary))
    return tuple(found)


def label_names() -> list[str]:
    """The distinct label names, sorted, for people to pick from."""
    return sorted({label.name for label in labels()}, key=str.casefold)


@dataclass(frozen=True)
class _Term:
    checks: tuple[tuple[str, object], ...]  # per token: how a text's token must meet it (see `_check`)
    concept: str
    named: bool  # the label's name or alias, not one of its words


def _check(token: str) -> tuple[str, object]:
    """How a text's token meets a term's token: an acronym as written (or plural), a long word by its
    stem, a short word exactly or with a plural ending."""
    if _is_acronym(token):
        return "as written", (token, token + "s")
    folded = _folded(token)
    if len(folded) >= _STEM_FROM:
        return "stem", _ENDINGS.sub("", folded)
    return "word", (folded, folded + "s", folded + "es")


class _Index:
    """Terms by how their first token is met (each exact form, or the stem), so that each token of a
    text costs a few dictionary lookups."""

    def __init__(self, all_labels):
        self.by_form: dict[str, list[_Term]] = {}
        self.by_stem: dict[str, list[_Term]] = {}
        self.names: dict[str, str] = {}  # concept -> label name
        self.ecosystems: dict[str, set[str]] = {}  # concept -> ecosystem concepts
        for label in all_labels:
            concept = label.concept
            self.names.setdefault(concept, label.name)
            self.ecosystems.setdefault(concept, set()).update(concept_token(e) for e in label.ecosystems)
            for text in (label.name, *label.aliases):
                self._add(text, concept, named=True)
            for terms in label.vocabulary.values():
                for text in terms:
                    self._add(text, concept, named=False)
        for concept in self.ecosystems:
            self.ecosystems[concept].discard(concept)

    def _add(self, text: str, concept: str, named: bool):
        tokens = _TOKEN.findall(text)
        if tokens:
            term = _Term(tuple(_check(t) for t in tokens), concept, named)
            how, what = term.checks[0]
            for form in [what] if how == "stem" else what:
                (self.by_stem if how == "stem" else self.by_form).setdefault(form, []).append(term)

    def starting_at(self, token: str, folded: str) -> tuple[_Term, ...]:
        """The terms whose first token the text's token meets."""
        found = self.by_form.get(folded, []) + (self.by_form.get(token, []) if token != folded else [])
        for end in range(3, len(folded) + 1):
            found += self.by_stem.get(folded[:end], [])
        return tuple(found)


@lru_cache(maxsize=1)
def _index() -> _Index:
    return _Index(labels())


@lru_cache(maxsize=200_000)
def _starting_at(token: str, folded: str) -> tuple[_Term, ...]:
    return _index().starting_at(token, folded)  # words repeat across profiles: each is looked up once


def _matches(token: str, folded: str, check: tuple[str, object]) -> bool:
    how, what = check
    if how == "stem":
        return folded.startswith(what)
    return (token if how == "as written" else folded) in what


def evoked(text) -> dict[str, list[str]]:
    """The concepts a text evokes, each with the text's words that evoke it (a label's name first)."""
    if not isinstance(text, str) or not text:
        return {}
    tokens = _TOKEN.findall(unicodedata.normalize("NFC", text))
    folded = [_folded(t) for t in tokens]
    found: dict[str, dict[str, bool]] = {}
    for i in range(len(tokens)):
        for term in _starting_at(tokens[i], folded[i]):
            n = len(term.checks)
            if n == 1 or i + n <= len(tokens) and all(_matches(tokens[i + j], folded[i + j], term.checks[j])
                                                      for j in range(1, n)):
                words = " ".join(tokens[i:i + n])
                entry = found.setdefault(term.concept, {})
                entry[words] = entry.get(words, False) or term.named
    return {concept: sorted(words, key=lambda w: not words[w]) for concept, words in found.items()}


def label_of(concept: str) -> str:
    """The label name a concept token stands for."""
    return _index().names.get(concept, concept)


def is_concept(term: str) -> bool:
    return term.startswith(CONCEPT_MARK) and term in _index().names


def without_field_names(text) -> str:
    """The text without the platform's field names ("Sectoral Industries:", "Technology fields:")."""
    return FIELD_NAMES.sub(" ", text) if isinstance(text, str) else ""


def host_evidence(hosts, fields) -> list[dict[str, list[str]]]:
    """Per host, the concepts its profile fields evoke, each with the profile's words that evoke it."""
    def text(values):
        return ". ".join(v if isinstance(v, str) else "; ".join(map(str, v)) for v in values
                         if isinstance(v, (str, list, tuple, np.ndarray)))
    columns = [hosts[f].tolist() for f in fields if f in hosts]
    return [evoked(without_field_names(text(values))) for values in zip(*columns)]


def concept_text(evidence: dict[str, list[str]]) -> str:
    """The concept tokens of evoked labels and of their ecosystems (which link labels of different
    lists: Automotive and Mobility Technologies share Mobility – Transport – Automotive)."""
    ecosystems = {e for c in evidence for e in _index().ecosystems[c]} - set(evidence)
    return " ".join([*evidence, *sorted(ecosystems)])


def expanded_objectives(objectives: str, sectors=(), known=lambda word: False) -> str:
    """The objectives the matcher ranks by: field names removed, the picked sectors added, and the
    concepts they evoke appended.

    A list in the platform's terms (field names, or sectors picked) is matched mostly by its
    concepts, so they are repeated. In prose the visitor's own words do better where profiles use
    them too, so a concept is added only for words that are not `known` (met in no profile: another
    language, a synonym): measured on the development set, concepts for every prose word cost 0.02
    MRR on queries that profiles already answer in their own words."""
    listed = bool(FIELD_NAMES.search(objectives or "")) or bool(sectors)
    text = "; ".join([without_field_names(objectives), *sectors])
    found = evoked(text)
    if not listed:
        found = {c: said for c, said in found.items()
                 if not all(known(w) for phrase in said for w in _TOKEN.findall(_folded(phrase)))}
    return f"{text} . {' '.join([concept_text(found)] * (LIST_EMPHASIS if listed else 1))}"
