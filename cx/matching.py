"""Find a host: rank the organisations that may host a visitor by how well their profiles match
the visitor's objectives, written in the visitor's own words.

`HostMatcher` follows scikit-learn's estimator conventions: parameters are stored as given,
`fit(hosts)` learns TF-IDF spaces over the hosts' profiles and returns the matcher, and
`suggest(objectives, ...)` ranks. Two spaces are mixed: word unigrams and bigrams (exact terms and
phrases, which make the reasons) and character n-grams within words (inflections, compounds and
small typos: "moulded" still meets "moulding", "hydrogn" still meets "hydrogen"). Each profile
field gets its own TF-IDF row and a weight, so a long description does not drown a name or a
sector list. Scores are cosines, one sparse product per space that touches only the columns of
the query's terms: no Python loop over hosts. Terms are
counted over all profiles at once (`cx.term_counts`), and `updated` replaces the rows of changed
profiles without a refit.

Eligibility is applied, never just ranked: only organisations that host, in eligible countries
of the rulebook, never in the visitor's own country. This module takes DataFrames and never
touches the store.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
from rapidfuzz import fuzz, process
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfTransformer
from sklearn.utils.sparsefuncs import inplace_column_scale
from sklearn.utils.validation import check_is_fitted
from stop_words import get_stop_words

from cx import taxonomy
from cx.errors import (CxError, EmptyObjectives, NoEligibleHost, TooGeneralObjectives, UnclearObjectives,
                       VisitedAlready)
from cx.geo import distance_km, gazetteer
from cx.rules import Rulebook, load_rulebook
from cx.term_counts import SEPARATOR, CharCounter, PhraseCounter, Tokens, split_on_spaces

# Profile fields and how much each counts; a field the hosts table lacks is skipped.
FIELD_WEIGHTS: dict[str, float] = {
    "name": 0.3,
    "sectors": 1.0,
    "ecosystems": 0.5,
    "description": 1.0,
    "kind": 0.1,
    "taxonomy": 0.5,  # the sector labels the profile evokes (cx.taxonomy), added by fit
}
# The fields whose words evoke the sector labels of the taxonomy.
PROFILE_FIELDS = ("name", "sectors", "ecosystems", "description")

# Official EU languages that the `stop-words` package covers, plus Turkish and Ukrainian
# (Turkey and Ukraine take part in the call). English comes from scikit-learn: the package's
# English list is a search-engine list of 1,333 words that removes "research", "value",
# "system" and "information", the very words cluster profiles are written in.
STOP_WORD_LANGUAGES = ("bg", "cs", "da", "de", "el", "es", "fi", "fr", "hu", "it", "nl", "pl", "pt", "ro",
                       "sk", "sv", "tr", "uk")
# Words those lists drop that carry meaning in cluster profiles.
KEEP_WORDS = frozenset({"design", "system", "systems", "fire", "interest"})

TOKEN = re.compile(r"\w\w+")
WORD_CHARACTER = re.compile(r"\w")
NON_ASCII = re.compile(r"[^\x00-\x7f]")
# An updated matcher keeps its fitted vocabulary and IDF weights; past these shares of unknown
# words, or of hosts changed since the fit, it is due for a full refit.
DRIFT_UNKNOWN_WORDS = 0.02
DRIFT_CHANGED_HOSTS = 0.1
CLOSE_SPELLING = 80  # rapidfuzz ratio at which a profile word counts as the visitor's word misspelt or inflected


def unaccented(text) -> str:
    """Text without accents, so that 'Kraków' meets 'Krakow' and 'Münster' meets 'Munster'."""
    text = str(text)
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    # The marks are removed by one regular expression, not a loop over every character: texts come
    # joined by thousands (`normalise_many`).
    marks = "".join(c for c in set(NON_ASCII.findall(decomposed)) if unicodedata.combining(c))
    return re.sub(f"[{re.escape(marks)}]", "", decomposed) if marks else decomposed


def fold(text) -> str:
    return unaccented(text).casefold()


@lru_cache(maxsize=1)
def stop_words() -> frozenset[str]:
    """English and the other EU languages' stop words, folded like the text they are removed from."""
    words = set(ENGLISH_STOP_WORDS)
    for language in STOP_WORD_LANGUAGES:
        words.update(get_stop_words(language))
    return frozenset(fold(w) for w in words) - KEEP_WORDS


BREAK = "|"  # stands for removed stop words, so that no phrase spans one


def normalise(text) -> str:
    """Folded words of a text, two letters or more, with each run of stop words replaced by '|'."""
    return normalise_many([text])[0]


ASCII_SPACED = {i: " " for i in range(128) if not WORD_CHARACTER.match(chr(i)) and chr(i) != SEPARATOR}
TOKEN_OR_SEPARATOR = re.compile(rf"{TOKEN.pattern}|{SEPARATOR}")


def normalise_many(texts) -> list[str]:
    """`normalise` of each text (a non-text gives '')."""
    return normalised_tokens(texts).texts()


def normalised_tokens(texts) -> Tokens:
    """The words of `normalise` of each text, as the `Tokens` the counters read (so a fit never
    joins them into text to split it again). Found in two passes, one over the plain ASCII texts
    and one over the others: the texts of a pass are tokenised together, and each distinct word
    is folded and checked against the stop words once."""
    texts = [t.replace(SEPARATOR, " ") if isinstance(t, str) else "" for t in texts]
    plain = np.fromiter((t.isascii() for t in texts), bool, len(texts))
    parts = []
    for ascii_only in (True, False):
        at = np.flatnonzero(plain == ascii_only)
        if len(at):
            text_of, ids, words = _normalise_together([texts[i] for i in at], ascii_only)
            parts.append((at[text_of], ids, words))
    return Tokens.joined(parts, len(texts), BREAK)


def _normalise_together(texts: list[str], ascii_only: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each normalised word's text and id, and per id the word. The tokens of `TOKEN` are runs of
    two or more word characters. In ASCII text every other character becomes a space (one
    `str.translate`, many times faster than the regular expression) and the text is split; other
    text loses its accents and goes through the regular expression."""
    joined = f" {SEPARATOR} ".join(texts)
    if ascii_only:
        ids, distinct = split_on_spaces(joined.translate(ASCII_SPACED))
    else:
        ids, distinct = pd.factorize(np.asarray(TOKEN_OR_SEPARATOR.findall(unaccented(joined)), dtype=object))
    short = np.fromiter((len(w) < 2 for w in distinct), bool, len(distinct)) & (distinct != SEPARATOR)
    ids = ids[~short[ids]]
    stop = stop_words()
    folded = np.asarray([w.casefold() for w in distinct], dtype=object)
    # Acronyms are never stop words: "IT cluster" is not "it", "AI" is not Italian "ai".
    is_stop = np.fromiter((f in stop and not w.isupper() for w, f in zip(distinct, folded)), bool, len(distinct))
    is_separator = distinct == SEPARATOR
    word_at = np.flatnonzero(~is_separator[ids])
    text_of = np.cumsum(is_separator[ids])[word_at]
    ids = ids[word_at]
    broken = is_stop[ids]
    first = np.ones(len(ids), dtype=bool)
    first[1:] = text_of[1:] != text_of[:-1]
    after_break = np.zeros(len(ids), dtype=bool)
    after_break[1:] = broken[:-1]
    kept = ~broken | (~first & ~after_break)  # no break first, none after another
    return text_of[kept], ids[kept], np.where(is_stop, BREAK, folded)


def words(text) -> list[str]:
    """The meaningful words of a text: folded, two letters or more, stop words removed."""
    return [w for w in normalise(text).split() if w != BREAK]


def _field_text(values) -> tuple[Tokens, np.ndarray]:
    """One field of every host as normalised text (lists such as ecosystems joined): the words of
    the distinct texts, and which of them each host has. Kinds, ecosystems and sector lists repeat
    across hosts, so each distinct text is normalised, counted and weighted once."""
    joined = pd.Series(["; ".join(v) if isinstance(v, (list, tuple, np.ndarray)) else v for v in values], dtype=object)
    codes, distinct = pd.factorize(joined)  # a missing value is -1: the empty text, appended last
    return normalised_tokens([*distinct, ""]), np.where(codes < 0, len(distinct), codes)


class _Fields(NamedTuple):
    """The weighted fields of many hosts: the words of their distinct texts, field after field,
    and per host and field the row of its text among them (hosts × fields)."""
    tokens: Tokens
    rows: np.ndarray

    def profiles(self) -> list[str]:
        """Each host's fields as one text."""
        texts = np.asarray(self.tokens.texts(), dtype=object)
        return [" ".join(parts) for parts in zip(*(texts[column] for column in self.rows.T))]

    def sum(self, weights: np.ndarray) -> sp.csc_matrix:
        """The matrix that adds up each host's field rows, weighted (`weights`, hosts × fields)."""
        n, fields = self.rows.shape
        return sp.csc_matrix((weights.astype(np.float32, copy=False).ravel(),
                              (np.repeat(np.arange(n), fields), self.rows.ravel())), shape=(n, self.tokens.count))


def _with_rows(matrix: sp.csc_matrix, kept: np.ndarray, position: np.ndarray, rows) -> sp.csc_matrix:
    """A column-major matrix with only its `kept` rows and the `rows` added, kept row i and added
    row j moving to `position[i]` and `position[len(kept) + j]`: a few passes over the stored
    values (renumber, delete, insert), without converting the whole matrix to rows and back."""
    moved = np.full(matrix.shape[0], -1, dtype=matrix.indices.dtype)
    moved[kept] = position[:len(kept)]
    row = moved[matrix.indices]
    removed = np.flatnonzero(row < 0)
    removed_before = np.concatenate([[0], np.cumsum(np.bincount(
        np.searchsorted(matrix.indptr, removed, side="right") - 1, minlength=matrix.shape[1]))])
    kept_indptr = matrix.indptr - removed_before  # where each column starts once the removed values are gone
    added = sp.csc_matrix(rows)
    at = kept_indptr[np.repeat(np.arange(matrix.shape[1]), np.diff(added.indptr)) + 1]  # after the column's values
    data = np.insert(np.delete(matrix.data, removed), at, added.data)
    indices = np.insert(np.delete(row, removed), at, position[len(kept) + added.indices])
    return sp.csc_matrix((data, indices, kept_indptr + added.indptr), shape=(len(position), matrix.shape[1]))


def _fitted_idf(having: np.ndarray, documents: int, sublinear_tf: bool) -> TfidfTransformer:
    """The TfidfTransformer that `fit` gives on the counts of `documents` documents of which
    `having[j]` have term j (its smoothed IDF, in float32 as on float32 counts), without that
    documents × terms matrix: at 100,000 hosts it is as large as the fitted space."""
    idf = TfidfTransformer(sublinear_tf=sublinear_tf)
    idf.idf_ = np.log(np.float32(documents + 1) / (having.astype(np.float32) + 1)) + 1
    return idf


def _tf_idf(counts: sp.csc_matrix, idf: TfidfTransformer) -> sp.csc_matrix:
    """`idf.transform` of column-major counts, in place, but for its normalising of rows (see `_columns`)."""
    if idf.sublinear_tf:
        np.log(counts.data, out=counts.data)
        counts.data += 1
    inplace_column_scale(counts, idf.idf_)
    return counts


VALUES_AT_ONCE = 1 << 22


def _slices(matrix: sp.spmatrix):
    """Slices of a matrix's stored values, a few million at a time: a temporary over all of a
    space's values is as large as the space (330 MB of character n-grams at 100,000 hosts), and
    memory the process has not touched yet is what such a step spends its time on."""
    return (slice(at, at + VALUES_AT_ONCE) for at in range(0, matrix.nnz, VALUES_AT_ONCE))


def _row_norms(matrix: sp.csc_matrix) -> np.ndarray:
    """Each row's length, with zero read as one (an empty row stays empty when divided by it)."""
    squares = np.zeros(matrix.shape[0], dtype=matrix.dtype)
    for part in _slices(matrix):
        values = matrix.data[part]
        np.add.at(squares, matrix.indices[part], values * values)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1
    return norms


def _unit_rows(matrix: sp.csc_matrix) -> sp.csc_matrix:
    """A column-major matrix with each row divided by its length, in place (an empty row stays empty)."""
    norms = _row_norms(matrix)
    for part in _slices(matrix):
        matrix.data[part] /= norms[matrix.indices[part]]
    return matrix


REASONED_AMONG = 20  # the k suggestions with a reason are looked for among the 20·k best scores


class _Evoked:
    """The labels each ranked host's profile evokes, with the words that evoke them (for the
    reasons), looked up k hosts at a time as the reasons reach them: one `taxonomy.evidence_of`
    call for a page of suggestions rather than one per host."""

    def __init__(self, texts: list[str], ranked: np.ndarray, k: int):
        self.texts, self.ranked, self.k, self.found = texts, list(ranked), k, {}

    def __getitem__(self, row: int) -> dict[str, list[str]]:
        if row not in self.found:
            at = self.ranked.index(row)
            batch = [r for r in self.ranked[at:at + self.k] if r not in self.found]
            evidence = taxonomy.evidence_of([self.texts[r] for r in batch])
            self.found.update((r, evidence.of(i)) for i, r in enumerate(batch))
        return self.found[row]


class HostMatcher(BaseEstimator):
    """Ranks eligible hosts for a visitor's objectives by TF-IDF cosine over weighted profile fields.

    Parameters
    ----------
    field_weights : weight of each profile field (`FIELD_WEIGHTS` when None).
    word_ngram_range, char_ngram_range : n-gram lengths of the word and character spaces.
    word_share : share of the score from the word space (the rest from character n-grams).
    sublinear_tf : count a term repeated n times as 1 + log(n), so repetition does not dominate.
    min_score : below this cosine a host is not a match; when no host reaches it the objectives
        are reported as unclear instead of returning a random list.
    rulebook : the call's rules (eligible countries, lump sums); the current call when None.
    """

    def __init__(self, *, field_weights=None, word_ngram_range=(1, 2), char_ngram_range=(3, 4),
                 word_share=0.5, sublinear_tf=True, min_score=0.1, rulebook: Rulebook | None = None):
        self.field_weights = field_weights
        self.word_ngram_range = word_ngram_range
        self.char_ngram_range = char_ngram_range
        self.word_share = word_share
        self.sublinear_tf = sublinear_tf
        self.min_score = min_score
        self.rulebook = rulebook

    # --- fitting -------------------------------------------------------------------------

    def fit(self, hosts: pd.DataFrame, y=None) -> HostMatcher:
        """Learn the TF-IDF spaces of the hosts' profiles.

        `hosts` has `id`, `name`, `country` (ISO-2) and `description`, and optionally `city`, `lat`,
        `lon`, `sectors`, `ecosystems` (lists), `kind` and `can_host`. Raises CxError naming any
        missing column, or when no host has a word to match on."""
        missing = [c for c in ("id", "name", "country", "description") if c not in hosts.columns]
        if missing:
            raise CxError(f"the hosts table lacks the column{'s' * (len(missing) > 1)} {', '.join(missing)}")
        if not 0 <= self.word_share <= 1:
            raise ValueError(f"word_share must be between 0 and 1, not {self.word_share}")
        self.rulebook_ = self.rulebook or load_rulebook()
        self.weights_ = {f: w for f, w in (self.field_weights or FIELD_WEIGHTS).items()
                         if (f in hosts.columns or f == "taxonomy") and w > 0}
        fields, self.taxonomy_texts_ = self._fields(hosts)

        self.word_counter_ = PhraseCounter(self.word_ngram_range)
        self.char_counter_ = CharCounter(self.char_ngram_range)
        # The character space, the larger, is worked out on a second thread while this one does the
        # rest: its sparse products release the interpreter.
        with ThreadPoolExecutor(max_workers=1) as pool:
            char = pool.submit(self._space, self.char_counter_, fields)
            word_idf, self.word_columns_ = self._space(self.word_counter_, fields)
            self.word_rows_ = self.word_columns_.tocsr()
            self.word_terms_ = self.word_counter_.get_feature_names_out()
            self.hosts_ = self._host_table(hosts)
            self.profiles_ = fields.profiles()
            self._index_hosts()
            char_idf, self.char_columns_ = char.result()
        self.idf_ = [word_idf, char_idf]
        self.hosts_updated_ = self.words_updated_ = self.unknown_words_ = 0
        return self

    def _fields(self, hosts: pd.DataFrame) -> tuple[_Fields, list[str]]:
        """The weighted fields of the hosts as normalised text, and per host the profile text that
        evokes its sector labels (its words are looked up for the reasons of the hosts shown).

        The `taxonomy` field holds the labels a profile evokes, each concept a phrase of its own,
        without the labels' ecosystems (the objectives bring those: `taxonomy.concept_texts`).
        While this thread finds them, a second one normalises the fields the hosts wrote: both
        split text with Arrow and work with numpy, which release the interpreter (0.35 s off a
        fit at 100,000 hosts)."""
        with ThreadPoolExecutor(max_workers=1) as pool:
            written = {f: pool.submit(_field_text, hosts[f].tolist()) for f in self.weights_ if f != "taxonomy"}
            texts = taxonomy.profile_texts(hosts, PROFILE_FIELDS)
            if "taxonomy" in self.weights_:
                codes, distinct = pd.factorize(np.asarray(taxonomy.evoked_concepts(texts, between=f" {BREAK} "),
                                                          dtype=object))
                evoked = Tokens(distinct, BREAK), codes
            parts = [evoked if f == "taxonomy" else written[f].result() for f in self.weights_]
        blocks, rows, first = [], [], 0
        for tokens, codes in parts:
            rows.append(codes + first)
            blocks.append(tokens)
            first += tokens.count
        return (_Fields(Tokens.stacked(blocks, BREAK),
                        np.stack(rows, axis=1) if rows else np.zeros((len(hosts), 0), dtype=np.int64)), texts)

    def _space(self, counter, fields: _Fields) -> tuple[TfidfTransformer, sp.csc_matrix]:
        """One space fitted on the hosts' field texts: its IDF weights (a term's counts the hosts
        that have it in any field) and the hosts' rows (`_columns`)."""
        try:
            counts, having = counter.fit_transform(fields.tokens, groups=fields.sum(np.ones(fields.rows.shape)))
        except ValueError:
            raise CxError("no host has a profile with words to match on (name, description, sectors)") from None
        idf = _fitted_idf(having, len(fields.rows), self.sublinear_tf)
        return idf, self._columns(counts, idf, fields)

    def _columns(self, counts: sp.csc_matrix, idf: TfidfTransformer, fields: _Fields) -> sp.csc_matrix:
        """The hosts' rows in a space, column-major (what a search reads), from the term counts of
        the distinct field texts (overwritten): the TF-IDF of each field text, normalised and
        weighted, summed per host and normalised. Worked out column-major throughout
        (`TfidfTransformer.transform` and `normalize` take rows, and turning the spaces to columns
        afterwards took a fifth of a fit at 100,000 hosts); a field text's normalising is a factor
        of its weight in the product that sums them."""
        weights = np.asarray(list(self.weights_.values()), dtype=np.float32)
        counts = _tf_idf(counts, idf)
        host = fields.sum(weights / _row_norms(counts)[fields.rows]) @ counts
        return _unit_rows(host)

    def _index_hosts(self):
        """Per host, what eligibility filters on: country code, may host, ecosystems."""
        countries = self.hosts_["country"].to_numpy(dtype=object)
        self.countries_, self.country_codes_ = np.unique(countries, return_inverse=True)
        self.hostable_ = (self.hosts_["can_host"].to_numpy(dtype=bool)
                          & np.isin(countries, self.rulebook_.eligible_countries))
        memberships = self.hosts_["ecosystems"].explode().dropna()
        codes, names = pd.factorize(memberships, sort=True)
        self.ecosystem_names_ = list(names)
        self.in_ecosystem_ = np.zeros((len(self.hosts_), len(names)), dtype=bool)
        self.in_ecosystem_[memberships.index.to_numpy(), codes] = True

    # --- keeping up with changed profiles ------------------------------------------------

    def updated(self, changed: pd.DataFrame, removed=()) -> HostMatcher:
        """A copy of this matcher in which the changed hosts (edited or new, with the columns `fit`
        takes) replace their rows and the `removed` ids are gone; this one is left as it was, so
        searches under way keep it. Rows end up in id order, as a fit on the store's table has
        them. Vocabulary and IDF weights stay as fitted: see `drifted`."""
        check_is_fitted(self, "char_columns_")
        new = copy.copy(self)
        fields, texts = self._fields(changed)
        tokens = fields.tokens
        counts = [counter.transform(tokens) for counter in (self.word_counter_, self.char_counter_)]
        word_columns, char_columns = ([self._columns(c, idf, fields) for c, idf in zip(counts, self.idf_)]
                                      if len(changed) else (self.word_columns_[:0], self.char_columns_[:0]))
        table = self._host_table(changed)
        gone = set(table["id"]) | {str(i) for i in removed}
        kept = np.flatnonzero(~self.hosts_["id"].isin(gone).to_numpy())
        hosts = pd.concat([self.hosts_.iloc[kept], table], ignore_index=True)
        order = np.argsort(hosts["id"].to_numpy(dtype=str), kind="stable")
        new.hosts_ = hosts.iloc[order].reset_index(drop=True)
        stacked = np.concatenate([kept, len(self.hosts_) + np.arange(len(changed))])
        new.word_rows_ = sp.vstack([self.word_rows_, word_columns.tocsr()], format="csr")[stacked[order]]
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))  # where each kept, then each changed, host ends up
        new.word_columns_ = _with_rows(self.word_columns_, kept, position, word_columns)
        new.char_columns_ = _with_rows(self.char_columns_, kept, position, char_columns)
        profiles = [self.profiles_[i] for i in kept] + fields.profiles()
        new.profiles_ = [profiles[i] for i in order]
        texts = [self.taxonomy_texts_[i] for i in kept] + texts
        new.taxonomy_texts_ = [texts[i] for i in order]
        new._index_hosts()
        unknown, seen = self.word_counter_.unknown_words(tokens)
        new.hosts_updated_ = self.hosts_updated_ + len(changed) + len(removed)
        new.unknown_words_, new.words_updated_ = self.unknown_words_ + unknown, self.words_updated_ + seen
        return new

    def drifted(self) -> bool:
        """Whether the updates since the fit brought enough unknown words, or changed enough hosts,
        that the fitted vocabulary and IDF weights no longer describe the profiles."""
        check_is_fitted(self, "char_columns_")
        return (self.unknown_words_ > DRIFT_UNKNOWN_WORDS * max(self.words_updated_, 1)
                or self.hosts_updated_ > DRIFT_CHANGED_HOSTS * len(self.hosts_))

    @staticmethod
    def _host_table(hosts: pd.DataFrame) -> pd.DataFrame:
        table = pd.DataFrame({
            "id": hosts["id"].astype(str).to_numpy(),
            "name": hosts["name"].astype(str).to_numpy(),
            "country": pd.Series(hosts["country"], dtype="string").fillna("").str.strip().str.upper().to_numpy(),
            "city": hosts["city"].to_numpy() if "city" in hosts else None,
            "kind": hosts["kind"].to_numpy() if "kind" in hosts else None,
        })
        table["can_host"] = hosts["can_host"].fillna(False).astype(bool).to_numpy() if "can_host" in hosts else True
        # each host's list as given (a new list per host would set off the collector of cycles)
        table["ecosystems"] = ([e if isinstance(e, (list, tuple, np.ndarray)) else () for e in hosts["ecosystems"]]
                               if "ecosystems" in hosts else [()] * len(hosts))
        lat, lon = (pd.to_numeric(hosts[c], errors="coerce").to_numpy(float, copy=True) if c in hosts
                    else np.full(len(hosts), np.nan) for c in ("lat", "lon"))
        unplaced = np.isnan(lat) | np.isnan(lon)
        if unplaced.any() and "city" in hosts:
            found_lat, found_lon = gazetteer().locate_many(table["city"][unplaced], table["country"][unplaced])
            lat[unplaced], lon[unplaced] = found_lat, found_lon
        table["lat"], table["lon"] = lat, lon
        return table

    # --- ranking -------------------------------------------------------------------------

    def _query(self, text: str) -> list[sp.csr_matrix]:
        """The text in the word space and in the character space: its TF-IDF, normalised. Worked
        out as a fit works out a host's row (`_tf_idf`, `_unit_rows`): scikit-learn's
        `transform` and `normalize` checked their input for 1.6 ms of a 3.8 ms query."""
        tokens = Tokens([text], BREAK)
        return [_unit_rows(_tf_idf(counter.transform(tokens), idf)).tocsr()
                for counter, idf in zip((self.word_counter_, self.char_counter_), self.idf_)]

    def _scores(self, word_query, char_query) -> np.ndarray:
        """Every host's cosine in each space, mixed by `word_share`: a sparse product per space that
        reads only the columns of the query's terms. The spaces are kept apart, not laid side by
        side in one matrix: copying them into one took a tenth of a fit."""
        return (self.word_share * (word_query @ self.word_columns_.T).toarray().ravel()
                + (1 - self.word_share) * (char_query @ self.char_columns_.T).toarray().ravel())

    def suggest(self, objectives: str, *, visitor_country: str | None = None, visitor_city: str | None = None,
                visitor_location: tuple[float, float] | None = None, visitor_id: str | None = None,
                visits_taken: int = 0, ecosystems=None, countries=None, start=None, end=None,
                sectors=(), k: int = 10) -> pd.DataFrame:
        """The k best eligible hosts for the objectives, best first.

        `sectors` are labels of the taxonomy (`cx.taxonomy.label_names()`) the visitor picked, matched
        with the objectives; either may be empty.

        Columns: id, name, country, city, kind, lat, lon, score (0 to 1), reasons (the visitor's
        words and phrases found in the profile, and the sector labels that bridge the two, as
        "Business Services → consulting"), distance_km (when the visitor's place is known:
        `visitor_location` (lat, lon) or `visitor_city` in `visitor_country`), working_days (when
        `start` and `end` are known), lump_sum_eur, halved and halving_reason (when both are).

        Raises VisitedAlready when `visits_taken` uses up the visitor's visits, EmptyObjectives
        when the objectives have no words (or only common words, or only the platform's field
        names), UnclearObjectives when they are too general or no profile resembles them,
        NoEligibleHost when the rules and filters leave no host, and UnknownCountry,
        IneligibleCountry or UnknownCity for a visitor the rules cannot place."""
        check_is_fitted(self, "char_columns_")
        rulebook = self.rulebook_
        if visits_taken >= rulebook.visits_per_visitor:
            raise VisitedAlready(int(visits_taken), rulebook.visits_per_visitor)
        asked, concepts = taxonomy.expanded_objectives(objectives, sectors, known=self._known)
        text = " ".join([normalise(asked), *(f"{BREAK} {c}" for c in concepts)])
        terms = [w for w in text.split() if w != BREAK and w not in taxonomy.GENERAL_WORDS and not taxonomy.is_concept(w)]
        if not terms:
            said = " ".join([objectives if isinstance(objectives, str) else "", *sectors])
            meant = taxonomy.without_field_names(said)
            if words(meant):
                raise TooGeneralObjectives(objectives)
            raise EmptyObjectives(objectives, "field names" if TOKEN.search(said) and not TOKEN.search(meant)
                                  else "common words" if TOKEN.search(said) else "")
        if visitor_country:
            visitor_country = rulebook.require_eligible(visitor_country)
        if visitor_location is None and visitor_city and visitor_country:
            visitor_location = gazetteer().locate(visitor_city, visitor_country)

        word_query, char_query = self._query(text)
        scores = self._scores(word_query, char_query)
        if scores.max(initial=0.0) < self.min_score:
            raise UnclearObjectives(objectives, float(scores.max(initial=0.0)), self.min_score)

        allowed = self._allowed(visitor_country, visitor_id, ecosystems, countries)
        candidates = np.flatnonzero(allowed & (scores >= self.min_score))
        if not len(candidates):
            raise NoEligibleHost(self._no_host_message(allowed, visitor_country, ecosystems, countries))
        top, reasons = [], []
        ranked = candidates[np.lexsort((candidates, -scores[candidates]))][:REASONED_AMONG * k]
        evoked = _Evoked(self.taxonomy_texts_, ranked, k)
        for row in ranked:
            said = self._reasons(word_query, terms, row, evoked)
            if said:  # a host that shares only general words ("partners", "projects") is no suggestion
                top.append(row)
                reasons.append(said)
                if len(top) == k:
                    break
        if not top:
            raise UnclearObjectives(objectives, float(scores.max(initial=0.0)), self.min_score)

        result = self.hosts_.iloc[top].drop(columns=["can_host", "ecosystems"]).reset_index(drop=True)
        result.insert(5, "score", np.round(scores[top].astype(float), 4))
        result.insert(6, "reasons", reasons)
        return self._with_lump_sums(result, visitor_location, start, end)

    def _known(self, word: str) -> bool:
        """Whether a profile has the word, or it is a stop word that no profile is matched on."""
        return word in self.word_counter_ or word in stop_words()

    def _allowed(self, visitor_country, visitor_id, ecosystems, countries) -> np.ndarray:
        allowed = self.hostable_.copy()
        if visitor_country:
            own = np.searchsorted(self.countries_, visitor_country)
            if own < len(self.countries_) and self.countries_[own] == visitor_country:
                allowed &= self.country_codes_ != own
        if visitor_id is not None:
            allowed &= self.hosts_["id"].to_numpy() != str(visitor_id)
        if countries:
            wanted = {str(c).strip().upper() for c in countries}
            allowed &= np.isin(self.country_codes_, np.flatnonzero(np.isin(self.countries_, list(wanted))))
        if ecosystems:
            columns = [i for i, name in enumerate(self.ecosystem_names_) if name in set(ecosystems)]
            allowed &= self.in_ecosystem_[:, columns].any(axis=1)
        return allowed

    def _no_host_message(self, allowed, visitor_country, ecosystems, countries) -> str:
        limits = [f"outside {visitor_country}"] if visitor_country else []
        if countries:
            limits.append("in " + ", ".join(sorted(countries)))
        if ecosystems:
            limits.append("in the ecosystem" + "s" * (len(ecosystems) > 1) + " " + ", ".join(sorted(ecosystems)))
        where = f" ({'; '.join(limits)})" if limits else ""
        if not allowed.any():
            return f"no eligible organisation may host here{where}; widen the countries or ecosystems"
        return (f"none of the {int(allowed.sum()):,} eligible hosts{where} matches the objectives; "
                "widen the countries or ecosystems, or describe the objectives differently")

    def _reasons(self, word_query, terms: list[str], row: int, evoked: _Evoked) -> list[str]:
        """The visitor's words and phrases found in the host's profile, and the sector labels that
        bridge the two ("Business Services → consulting"), strongest first; words met only as another
        spelling or inflection read 'hydrogen (for hydrogn)'. Words that say nothing about a field
        (`taxonomy.GENERAL_WORDS`) are never a reason."""
        host = self.word_rows_[row]
        shared, query_at, host_at = np.intersect1d(word_query.indices, host.indices, return_indices=True)
        weight = word_query.data[query_at] * host.data[host_at]
        phrases = [str(self.word_terms_[i]) for i in shared[np.argsort(-weight, kind="stable")]]
        phrases = [p for p in phrases if p not in taxonomy.GENERAL_WORDS]
        in_phrases = {w for phrase in phrases if " " in phrase for w in phrase.split()}
        reasons = [p for p in phrases if " " in p or p not in in_phrases]  # a phrase makes its words redundant
        found = {w for phrase in reasons for w in phrase.split()}
        profile_words = sorted(w for w in set(self.profiles_[row].split()) - found - {BREAK}
                               if w not in taxonomy.GENERAL_WORDS and not taxonomy.is_concept(w))
        for term in dict.fromkeys(t for t in terms if t not in found and len(t) > 3):
            close = process.extractOne(term, profile_words, scorer=fuzz.ratio, score_cutoff=CLOSE_SPELLING)
            if close and close[0][:2] == term[:2]:  # "services" is not "devices" misspelt
                reasons.append(f"{close[0]} (for {term})")
        bridged = [self._bridge(r, evoked[row]) if taxonomy.is_concept(r) else r for r in reasons]
        return list(dict.fromkeys(r for r in bridged if r))[:6]

    @staticmethod
    def _bridge(concept: str, evoked: dict[str, list[str]]) -> str:
        """'Label → the host's words that evoke it', or the label alone when the host names it."""
        label = taxonomy.label_of(concept)
        said: dict[str, str] = {}
        for w in evoked.get(concept, []):
            if fold(w) != fold(label):
                said.setdefault(fold(w), w)  # each once, however capitalised
        return f"{label} → {', '.join(list(said.values())[:3])}" if said else label

    def _with_lump_sums(self, result: pd.DataFrame, visitor_location, start, end) -> pd.DataFrame:
        """The distance, working days and lump sum of a stay at each host (halved or not, and why),
        as far as the visitor's place and the dates are known. The columns are made as arrays and
        added in one step, and the reasons written for halved stays only: column by column, pandas
        took longer over ten hosts than the rules themselves."""
        rulebook, n = self.rulebook_, len(result)
        place_known = visitor_location is not None and not np.isnan(np.asarray(visitor_location, float)).any()
        distance = (np.round(distance_km(np.full(n, visitor_location[0]), np.full(n, visitor_location[1]),
                                         result["lat"].to_numpy(), result["lon"].to_numpy()), 1)
                    if place_known else np.full(n, np.nan))
        added = {"distance_km": distance, "working_days": pd.array([pd.NA] * n, dtype="Int64"),
                 "lump_sum_eur": pd.array([pd.NA] * n, dtype="Int64"), "halved": pd.array([pd.NA] * n, dtype="boolean"),
                 "halving_reason": np.full(n, "", dtype=object)}
        if start is not None and end is not None:
            money = rulebook.lump_sums(pd.DataFrame({"host_country": result["country"].to_numpy(), "start": start,
                                                     "end": end, "distance_km": distance}))
            added["working_days"] = pd.array(money["working_days"].to_numpy(), dtype="Int64")
            located = ~np.isnan(distance)
            if place_known:
                added["lump_sum_eur"][located] = money["lump_sum_eur"].to_numpy()[located]
                added["halved"][located] = money["halved"].to_numpy()[located]
                halved = located & money["halved"].to_numpy()
                if halved.any():
                    added["halving_reason"][halved] = rulebook.halving_reasons(money[halved], distance[halved]).to_numpy()
        return pd.concat([result, pd.DataFrame(added, index=result.index)], axis=1)


def read_hosts(path) -> pd.DataFrame:
    """Hosts from a CSV file with the columns `fit` takes; `ecosystems` as 'A; B' text and
    `can_host` as yes/no, true/false or 1/0."""
    hosts = pd.read_csv(path, dtype=str, keep_default_na=False)
    if "ecosystems" in hosts:
        hosts["ecosystems"] = [[e.strip() for e in text.split(";") if e.strip()] for text in hosts["ecosystems"]]
    if "can_host" in hosts:
        hosts["can_host"] = hosts["can_host"].str.strip().str.lower().isin(["yes", "true", "1", "y"])
    for column in ("lat", "lon"):
        if column in hosts:
            hosts[column] = pd.to_numeric(hosts[column], errors="coerce")
    if "city" in hosts:
        hosts["city"] = hosts["city"].replace("", None)
    return hosts
