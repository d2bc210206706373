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
from typing import NamedTuple

import numpy as np
import pandas as pd

from cx import PROJECT_ROOT
from cx.ecosystems import ECOSYSTEMS
from cx.term_counts import SEPARATOR, split_on_spaces

TAXONOMY_DIR = PROJECT_ROOT / "data" / "taxonomy"
LANGUAGES = ("en", "de", "fr", "es", "it", "pl")
LIST_EMPHASIS = 5  # a label listed in the platform's terms counts as if written five times (measured)
# A profile's label counts once per place it is spoken of, up to twice: a label met in two places is
# likelier what the organisation does than one met in passing. Chosen on half the development set
# (taxonomy labels, even rows: MRR@10 / recall@10 once 0.523 / 0.886, at most twice 0.532 / 0.955,
# three times 0.516 / 0.955, every place 0.519 / 0.955) and checked on the other half (0.696 / 0.977
# → 0.713 / 0.977); own sectors unchanged (0.885 / 0.989).
MENTIONS_COUNTED = 2
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


def _check(token: str) -> tuple[str, object]:
    """How a text's token meets a term's token: an acronym as written (or plural), a long word by its
    stem, a short word exactly or with a plural ending."""
    if _is_acronym(token):
        return "as written", (token, token + "s")
    folded = _folded(token)
    if len(folded) >= _STEM_FROM:
        return "stem", _ENDINGS.sub("", folded)
    return "word", (folded, folded + "s", folded + "es")


class _Terms:
    """Every term of the taxonomy (a label's name, alias or word) as arrays, and for each of its
    tokens how a text's token meets it, indexed by each exact form or the stem, so that each
    distinct token of the texts costs a few dictionary lookups."""

    def __init__(self, all_labels):
        self.concepts: list[str] = []  # the concept tokens; a term's concept is an index into them
        self.names: dict[str, str] = {}  # concept -> label name
        ecosystems: dict[str, set[str]] = {}  # concept -> ecosystem concepts
        concept_of, named, length = [], [], []
        self.by_form: dict[str, list[tuple[int, int]]] = {}  # form -> (term, position of the token in it)
        self.by_stem: dict[str, list[tuple[int, int]]] = {}
        at: dict[str, int] = {}  # concept -> its index
        for label in all_labels:
            concept = label.concept
            if concept not in at:
                at[concept] = len(self.concepts)
                self.names[concept] = label.name
                self.concepts.append(concept)
            ecosystems.setdefault(concept, set()).update(concept_token(e) for e in label.ecosystems)
            texts = [(text, True) for text in (label.name, *label.aliases)]
            texts += [(text, False) for terms in label.vocabulary.values() for text in terms]
            for text, is_name in texts:
                tokens = _TOKEN.findall(text)
                if not tokens:
                    continue
                for j, token in enumerate(tokens):
                    how, what = _check(token)
                    for form in [what] if how == "stem" else what:
                        (self.by_stem if how == "stem" else self.by_form).setdefault(form, []).append((len(length), j))
                concept_of.append(at[concept])
                named.append(is_name)
                length.append(len(tokens))
        self.concept_of, self.named, self.length = np.array(concept_of), np.array(named), np.array(length)
        self.most = int(self.length.max(initial=1))  # tokens of the longest term
        self.at = at
        # each concept's ecosystems (itself left out), laid end to end, and the concepts in alphabetical order
        linked = [sorted(at[e] for e in ecosystems[c] - {c}) for c in self.concepts]
        self.ecosystem_count = np.array([len(e) for e in linked])
        self.ecosystems = np.array([e for each in linked for e in each], dtype=np.int64)
        self.alphabetical = np.argsort(np.asarray(self.concepts, dtype=str), kind="stable")
        self.rank = np.argsort(self.alphabetical, kind="stable")
        # the first three letters of every form and stem, folded: an ASCII token that begins otherwise meets nothing
        self.beginnings = sorted({key[:3].casefold() for key in (*self.by_form, *self.by_stem)})

    def may_meet(self, tokens: np.ndarray) -> np.ndarray:
        """Whether each token may meet a term: False only for ASCII tokens whose first three letters
        begin no form or stem (most of a profile's words), decided for all tokens at once."""
        tokens = pd.Series(tokens, dtype=object)
        plain = tokens.str.isascii().to_numpy(dtype=bool)
        return ~plain | tokens.str[:3].str.lower().isin(self.beginnings).to_numpy(dtype=bool)

    def met_by(self, token: str) -> list[tuple[int, int]]:
        """The (term, position) of each term token that a text's token meets."""
        folded = _folded(token)
        found = self.by_form.get(folded, []) + (self.by_form.get(token, []) if token != folded else [])
        for end in range(3, len(folded) + 1):
            found += self.by_stem.get(folded[:end], [])
        return found


@lru_cache(maxsize=1)
def _terms() -> _Terms:
    return _Terms(labels())


class _Met(NamedTuple):
    """What one token of a text meets in the taxonomy (see `_met`)."""
    one: tuple[tuple[int, int], ...]  # the one-token terms it is, each with its rank at the place
    first: tuple[tuple[int, int], ...]  # the longer terms it may start, each with its rank at the place
    second: frozenset[int]  # the terms whose second token it meets
    later: tuple[int, ...]  # the terms whose third or later token it meets, as term * most tokens + position


_NOTHING = _Met((), (), frozenset(), ())


@lru_cache(maxsize=200_000)
def _met(token: str) -> _Met:
    """What a token meets, once per word: words repeat across profiles and fits. The rank of a
    term at a place (the order of its first token among the token's finds) orders the matches."""
    terms = _terms()
    found = terms.met_by(token)
    firsts = list(enumerate(t for t, j in found if j == 0))
    return _Met(tuple((t, r) for r, t in firsts if terms.length[t] == 1),
                tuple((t, r) for r, t in firsts if terms.length[t] > 1),
                frozenset(t for t, j in found if j == 1), tuple(t * terms.most + j for t, j in found if j > 1))


_SPACED = bytes(b if b >= 128 or re.match(r"\w", chr(b)) or chr(b) == SEPARATOR else ord(" ") for b in range(256))


def _ranges(first: np.ndarray, count: np.ndarray) -> np.ndarray:
    """The indices first[i], ..., first[i] + count[i] - 1 of every i, laid end to end: one repeat
    (of where each range starts, less where it lands) plus one range, not a Python loop."""
    landed = np.cumsum(count) - count
    return np.repeat(first - landed, count) + np.arange(count.sum())


def _tokens(texts: list) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The `_TOKEN` tokens of many texts, found in one pass: each token's text, its id among the
    distinct tokens, and the distinct tokens. In the joined text's UTF-8 bytes ASCII punctuation
    becomes a space and the bytes are split; only the distinct pieces are decoded, and those with
    other than ASCII characters go through the regular expression (a run of word characters never
    spans a character that is not one). A list is made only for such a piece: one per piece, 100,000
    at 100,000 hosts, would set the collector of cycles going over every object in the process."""
    texts = [unicodedata.normalize("NFC", t.replace(SEPARATOR, " ")) if isinstance(t, str) else "" for t in texts]
    joined = f" {SEPARATOR} ".join(texts).encode().translate(_SPACED)
    pieces, distinct = split_on_spaces(joined)
    decoded = np.asarray([b.decode() for b in distinct], dtype=object)
    plain = np.fromiter((p.isascii() for p in decoded), bool, len(decoded))
    found = [_TOKEN.findall(p) for p in decoded[~plain]]  # a list only for a piece with other characters
    count = np.ones(len(decoded), dtype=np.int64)
    count[~plain] = [len(f) for f in found]
    first = np.cumsum(count) - count  # each distinct piece's first token among `token_ids`
    flat = np.empty(int(count.sum()), dtype=object)
    flat[first[plain]] = decoded[plain]
    flat[_ranges(first[~plain], count[~plain])] = [t for f in found for t in f]
    token_ids, tokens = pd.factorize(flat)
    ids = token_ids[_ranges(first[pieces], count[pieces])]
    separator = np.flatnonzero(tokens == SEPARATOR)
    is_separator = ids == (separator[0] if len(separator) else -1)
    return np.cumsum(is_separator)[~is_separator], ids[~is_separator], np.asarray(tokens, dtype=object)


@dataclass(frozen=True)
class Evidence:
    """Per text, the concepts it evokes in order of first mention, each with the text's words that
    evoke it (a label's name first, then in order of mention): for many texts at once, as arrays,
    since a fit has one per host. Text i's entries are `entries[indptr[i]:indptr[i + 1]]`, each an
    index into the (concept, words) pairs."""
    indptr: np.ndarray
    entries: np.ndarray
    concept: np.ndarray  # per pair: the concept token
    words: np.ndarray  # per pair: the text's words

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def of(self, i: int) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for pair in self.entries[self.indptr[i]:self.indptr[i + 1]]:
            found.setdefault(self.concept[pair], []).append(self.words[pair])
        return found

    def only(self, concepts) -> Evidence:
        """The evidence of the given concepts alone."""
        kept = np.isin(self.concept[self.entries], np.asarray(list(concepts), dtype=object))
        text = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        indptr = np.concatenate([[0], np.cumsum(np.bincount(text[kept], minlength=len(self)))])
        return Evidence(indptr, self.entries[kept], self.concept, self.words)


def _matches(texts: list):
    """Every place where a term of the taxonomy stands in the texts, for all texts at once: the
    texts' tokens (`_tokens`) and per match its place, term and rank at the place. The taxonomy is
    looked up once per distinct token, and for terms of several tokens once per distinct pair of
    neighbouring tokens; their further tokens are checked over the places where the first two stand."""
    text_of, ids, tokens = _tokens(texts)
    terms = _terms()
    met = [_met(t) if may else _NOTHING for t, may in zip(tokens, terms.may_meet(tokens))]
    one = _Lists([m.one for m in met])
    place, item = one.spread(ids)
    at, term, rank = [place], [one.values[item, 0]], [one.values[item, 1]]
    # terms of several tokens: the distinct pairs of neighbouring tokens that meet their first two
    starts_longer = np.array([bool(m.first) for m in met], dtype=bool)
    starts = np.flatnonzero(np.diff(text_of, append=-1) == 0)  # a place followed by a token of the same text
    starts = starts[starts_longer[ids[starts]]]
    neighbours, distinct = pd.factorize(ids[starts] * len(tokens) + ids[starts + 1])
    two = _Lists([[f for f in met[p // len(tokens)].first if f[0] in met[p % len(tokens)].second] for p in distinct])
    place, item = two.spread(neighbours)
    longer, term_of, length = starts[place], two.values[item, 0], terms.length[two.values[item, 0]]
    count = np.fromiter((len(m.later) for m in met), np.int64, len(met))
    later = np.unique(np.repeat(np.arange(len(met)), count)
                      + len(tokens) * np.fromiter((k for m in met for k in m.later), np.int64, int(count.sum())))
    ok = np.ones(len(longer), dtype=bool)
    for j in range(2, terms.most):
        checked = np.flatnonzero(ok & (length > j))
        following = longer[checked] + j
        inside = following < len(ids)
        inside[inside] = text_of[following[inside]] == text_of[longer[checked][inside]]
        key = (term_of[checked] * terms.most + j) * len(tokens) + ids[np.minimum(following, len(ids) - 1)]
        ok[checked] = inside & _among(key, later)
    at, term, rank = (np.concatenate([*found, extra[ok]]) for found, extra in
                      ((at, longer), (term, term_of), (rank, two.values[item, 1])))
    return text_of, ids, tokens, at, term, rank


def evidence_of(texts: list) -> Evidence:
    """What each text evokes (see `Evidence`), for all texts at once."""
    text_of, ids, tokens, at, term, rank = _matches(texts)
    terms = _terms()
    order = np.lexsort((rank, at))  # the order in which they stand and, at one place, their rank
    at, term = at[order], term[order]
    length = terms.length[term]
    # the words of each match: its tokens, factorised one position at a time
    phrase = ids[at]
    for j in range(1, terms.most):
        longer = length > j
        phrase[longer] = pd.factorize(phrase[longer] * len(tokens) + ids[at[longer] + j])[0]
    phrase = pd.factorize(phrase * (terms.most + 1) + length)[0]
    concept = terms.concept_of[term]
    pair, pairs = pd.factorize(concept * (phrase.max(initial=0) + 1) + phrase)
    named = np.bincount(pair, weights=terms.named[term], minlength=len(pairs)) > 0
    example = _firsts(pair)  # the first match of each pair, in the order of the pairs
    words = np.asarray([" ".join(tokens[ids[at[m]:at[m] + length[m]]]) for m in example], dtype=object)
    # per text, each pair once, ordered by its concept's first match (the text's concepts are numbered
    # in that order), the names first, then by first match
    text = text_of[at]
    first_of_pair = _firsts(text * len(pairs) + pair)
    concept_order = pd.factorize(text * len(terms.concepts) + concept)[0]
    order = np.lexsort((first_of_pair, ~named[pair[first_of_pair]], concept_order[first_of_pair]))
    indptr = np.concatenate([[0], np.cumsum(np.bincount(text[first_of_pair], minlength=len(texts)))])
    return Evidence(indptr, pair[first_of_pair][order],
                    np.asarray(terms.concepts, dtype=object)[pairs // (phrase.max(initial=0) + 1)], words)


class _Lists:
    """Lists of (term, rank) pairs laid end to end, so that the lists of many keys can be spread
    over their occurrences at once."""

    def __init__(self, lists: list[list[tuple[int, int]]]):
        self.count = np.fromiter((len(each) for each in lists), np.int64, len(lists))
        self.values = np.array([v for each in lists for v in each], dtype=np.int64).reshape(-1, 2)

    def spread(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each item of each key's list: the key's place among `keys`, and the item's row in `values`."""
        count = self.count[keys]
        first = np.cumsum(self.count) - self.count  # where each key's list starts in `values`
        return np.repeat(np.arange(len(keys)), count), _ranges(first[keys], count)


def _among(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Whether each key is one of the sorted values (a binary search, not a sort of the keys)."""
    at = np.minimum(np.searchsorted(values, keys), max(len(values) - 1, 0))
    return values[at] == keys if len(values) else np.zeros(len(keys), dtype=bool)


def _firsts(keys: np.ndarray) -> np.ndarray:
    """Where each distinct key first stands, in order of place (a hash table, not a sort)."""
    return np.flatnonzero(~pd.Series(keys).duplicated().to_numpy())


def evoked(text) -> dict[str, list[str]]:
    """The concepts a text evokes, each with the text's words that evoke it (a label's name first)."""
    return evidence_of([text]).of(0)


def label_of(concept: str) -> str:
    """The label name a concept token stands for."""
    return _terms().names.get(concept, concept)


def is_concept(term: str) -> bool:
    return term.startswith(CONCEPT_MARK) and term in _terms().names


def without_field_names(text) -> str:
    """The text without the platform's field names ("Sectoral Industries:", "Technology fields:")."""
    if not isinstance(text, str):
        return ""
    return FIELD_NAMES.sub(" ", text) if ":" in text else text  # every field name ends in a colon


def profile_texts(hosts, fields) -> list[str]:
    """Per host, the text of its profile fields that evoke labels, without the platform's field names."""
    def text(values):
        return ". ".join(v if isinstance(v, str) else "; ".join(map(str, v)) for v in values
                         if isinstance(v, (str, list, tuple, np.ndarray)))
    columns = [hosts[f].tolist() for f in fields if f in hosts]
    return [without_field_names(text(values)) for values in zip(*columns)]


def evoked_concepts(texts: list, between: str = " ") -> list[str]:
    """Per text, the concept tokens of the labels it evokes, joined by `between`: a label the text
    speaks of in two places or more is written twice (`MENTIONS_COUNTED`): what a fit needs of many
    profiles. Not the words that evoke each label (`evoked` finds those for the few hosts a search
    shows), nor the order of mention (the matcher's tokens are phrases of their own)."""
    text_of, ids, _, at, term, _ = _matches(texts)
    terms = _terms()
    # distinct by sorting: numpy 2.4's np.unique hashes such keys and took 3 s of a fit at 100,000 hosts
    places = np.sort((text_of[at] * len(terms.concepts) + terms.concept_of[term]) * len(ids) + at)
    places = places[np.diff(places, prepend=-1) != 0]
    key = places // max(len(ids), 1)  # text and concept, once per place, sorted
    first = np.flatnonzero(np.diff(key, prepend=-1) != 0)
    mentions = np.diff(first, append=len(key))
    key = np.repeat(key[first], np.minimum(mentions, MENTIONS_COUNTED))
    tokens = np.asarray(terms.concepts, dtype=object)[key % len(terms.concepts)].tolist()
    bounds = np.searchsorted(key // len(terms.concepts), np.arange(len(texts) + 1))
    return [between.join(tokens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def concept_texts(evidence: Evidence, between: str = " ", linked: bool = True) -> list[str]:
    """Per text, the concept tokens of the labels it evokes (in order of mention) and, when
    `linked`, of their ecosystems (alphabetical), which link labels of different lists: Automotive
    and Mobility Technologies share Mobility – Transport – Automotive. `between` goes between two
    tokens: the matcher puts a phrase break there, since the order of mention says nothing.

    The matcher links the objectives' labels, not the profiles': a profile then meets an
    ecosystem only where it speaks of it. Measured on the development set (MRR@10, own sectors /
    taxonomy labels): links on both sides 0.870 / 0.617, on the objectives only 0.885 / 0.608,
    on neither 0.883 / 0.591."""
    terms = _terms()
    n = len(evidence)
    concept = np.fromiter((terms.at[c] for c in evidence.concept), np.int64, len(evidence.concept))[evidence.entries]
    text = np.repeat(np.arange(n), np.diff(evidence.indptr))
    new = np.ones(len(text), dtype=bool)
    new[1:] = (text[1:] != text[:-1]) | (concept[1:] != concept[:-1])  # a concept's pairs stand together
    text, concept = text[new], concept[new]
    count = terms.ecosystem_count[concept] * linked
    linked = terms.ecosystems[_ranges((np.cumsum(terms.ecosystem_count) - terms.ecosystem_count)[concept], count)]
    size = len(terms.concepts)
    key = np.repeat(text, count) * size + terms.rank[linked]
    key = np.unique(key[~np.isin(key, text * size + terms.rank[concept])])
    text = np.concatenate([text, key // size])
    concept = np.concatenate([concept, terms.alphabetical[key % size]])
    order = np.lexsort((np.arange(len(text)) >= len(text) - len(key), text))  # evoked first, as they came
    tokens = np.asarray(terms.concepts, dtype=object)[concept[order]].tolist()
    bounds = np.searchsorted(text[order], np.arange(n + 1))
    return [between.join(tokens[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def expanded_objectives(objectives: str, sectors=(), known=lambda word: False) -> tuple[str, list[str]]:
    """What the matcher ranks by: the objectives with field names removed and the picked sectors
    added, and the concept tokens they evoke.

    A list in the platform's terms (field names, or sectors picked) is matched mostly by its
    concepts, so they are repeated. In prose the visitor's own words do better where profiles use
    them too, so a concept is added only for words that are not `known` (met in no profile: another
    language, a synonym): measured on the development set, concepts for every prose word cost 0.02
    MRR on queries that profiles already answer in their own words."""
    listed = bool(FIELD_NAMES.search(objectives or "")) or bool(sectors)
    text = "; ".join([without_field_names(objectives), *sectors])
    found = evidence_of([text])
    if not listed:
        found = found.only(c for c, said in found.of(0).items()
                           if not all(known(w) for phrase in said for w in _TOKEN.findall(_folded(phrase))))
    return text, concept_texts(found)[0].split() * (LIST_EMPHASIS if listed else 1)
