"""Counting the matcher's terms in many profiles at once.

scikit-learn's CountVectorizer runs its analyser once per text in Python: at 100,000 hosts
(500,000 field texts) that was three quarters of a fit. These counters give the same matrices
(same terms, same counts, columns in the same sorted order) by working on distinct words
instead: all texts are split in one call and their words factorised; word n-grams are built from
word ids with numpy; character n-grams are worked out once per distinct word and spread to the
texts by one sparse product. Both counters read the texts split once (`Tokens`). A fitted
counter's vocabulary is fixed, so `transform` of a changed profile or of a visitor's query lands
in the same columns.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import scipy.sparse as sp


SEPARATOR = "\x01"  # between texts joined to be split in one call: neither a word nor a space


ARROW_FROM = 1 << 16  # characters; a shorter text is split by Python: Arrow's cost per call (60 µs) is more


def split_on_spaces(joined: str | bytes) -> tuple[np.ndarray, np.ndarray]:
    """The pieces of a text between its spaces, each as an id among the distinct pieces (in order
    of first appearance, as `pd.factorize` numbers them), and the distinct pieces. Arrow splits and
    hashes a long text's pieces without a Python object per piece: 0.3 s for the 4 million pieces
    of 100,000 profiles, against 0.7 s for `split` and `pd.factorize`."""
    if len(joined) < ARROW_FROM:
        space = b" " if isinstance(joined, bytes) else " "
        ids, distinct = pd.factorize(np.asarray([p for p in joined.split(space) if p], dtype=object))
        return ids.astype(np.int64), distinct
    text = pa.array([joined], type=pa.large_binary() if isinstance(joined, bytes) else pa.large_string())
    pieces = pc.list_flatten(pc.split_pattern(text, " "))
    encoded = pc.dictionary_encode(pieces.filter(pc.greater(pc.binary_length(pieces), 0)))
    return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_numpy(zero_copy_only=False)


class Tokens:
    """The whitespace-separated tokens of many texts, split in one call (or put together from parts
    found apart, `joined`): for each token the text it comes from (`text_of`) and its id (`ids`)
    among the distinct tokens (`distinct`). A boundary mark is always a token of its own. Both
    counters read the same `Tokens`. The texts are normalised text (`cx.matching.normalise`), so
    the separator is never in one."""

    def __init__(self, texts, boundary: str = "|"):
        texts = [t.replace(SEPARATOR, " ") for t in texts]
        joined = f" {SEPARATOR} ".join(texts).replace(boundary, f" {boundary} ")
        ids, distinct = split_on_spaces(joined)
        separator = np.flatnonzero(distinct == SEPARATOR)
        is_separator = ids == (separator[0] if len(separator) else -1)
        ids = ids[~is_separator].astype(np.int64)
        if len(separator):
            ids -= ids > separator[0]
            distinct = np.delete(distinct, separator[0])
        self._set(len(texts), boundary, np.cumsum(is_separator)[~is_separator], ids, distinct)

    def _set(self, count, boundary, text_of, ids, distinct):
        self.count, self.boundary, self.text_of, self.ids = count, boundary, text_of, ids
        self.distinct = np.asarray(distinct, dtype=object)
        self.is_boundary = self.distinct == boundary

    @classmethod
    def joined(cls, parts, count: int, boundary: str = "|") -> Tokens:
        """The tokens of `count` texts put together from parts found apart, each part as (the text
        of each token, its id, the part's distinct tokens); each text's tokens keep their order."""
        texts_of, part_ids, part_distinct = zip(*(list(parts) or [((), (), ())]))
        codes, distinct = pd.factorize(np.concatenate([np.asarray(d, dtype=object) for d in part_distinct]))
        first = np.cumsum([0, *map(len, part_distinct)])
        text_of = np.concatenate([np.asarray(t, dtype=np.int64) for t in texts_of])
        ids = np.concatenate([codes[at + np.asarray(i, dtype=np.int64)] for at, i in zip(first, part_ids)])
        used = np.zeros(len(distinct), dtype=bool)
        used[ids] = True  # only the tokens that occur: a part's distinct tokens may hold some that no text kept
        order = np.argsort(text_of, kind="stable")
        tokens = cls.__new__(cls)
        tokens._set(count, boundary, text_of[order], (np.cumsum(used) - 1)[ids[order]], distinct[used])
        return tokens

    @classmethod
    def stacked(cls, blocks: list[Tokens], boundary: str = "|") -> Tokens:
        """The texts of each of `blocks`, one block after the other."""
        first = np.cumsum([0] + [b.count for b in blocks])
        return cls.joined([(b.text_of + at, b.ids, b.distinct) for at, b in zip(first, blocks)], int(first[-1]), boundary)

    def texts(self) -> list[str]:
        """Each text, its tokens joined by single spaces."""
        words = self.distinct[self.ids].tolist()
        bounds = np.searchsorted(self.text_of, np.arange(self.count + 1))
        return [" ".join(words[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]


def _ngrams(ids, segment, usable, names, joiner: str, ngram_range, whole_short_segments=False):
    """The n-grams of a sequence of items (the words of texts, or the characters of words) that lie
    within one segment and use only usable items, for n in `ngram_range`: each occurrence as
    (segment, local gram id), and the local grams' names. A segment shorter than the shortest n
    counts once as a whole when `whole_short_segments` (as char_wb counts a short word).

    The n-gram at position i extends the (n-1)-gram at i by the item at i + n - 1, so each length
    is one factorisation of integer pairs, never a string per occurrence."""
    low, high = ngram_range
    starts = np.ones(len(ids), dtype=bool)
    starts[1:] = segment[1:] != segment[:-1]
    length = np.bincount(segment, minlength=segment.max(initial=-1) + 1)[segment] if len(ids) else segment
    key, level_names = np.where(usable, ids, -1), names
    rows, local, all_names, offset = [], [], [], 0
    for n in range(1, high + 1):
        if n > 1:
            m = max(len(ids) - n + 1, 0)
            ok = (key[:m] >= 0) & usable[n - 1:] & (segment[:m] == segment[n - 1:])
            codes, pairs = pd.factorize(key[:m][ok] * max(len(names), 1) + ids[n - 1:][ok])
            key = np.full(m, -1, dtype=np.int64)
            key[ok] = codes
            level_names = np.asarray(pd.Series(level_names[pairs // len(names)], dtype=object) + joiner
                                     + names[pairs % len(names)], dtype=object)
        if n >= low:
            at = np.flatnonzero(key >= 0)
        elif whole_short_segments:
            at = np.flatnonzero((key >= 0) & starts[:len(key)] & (length[:len(key)] == n))
        else:
            continue
        rows.append(segment[at])
        local.append(key[at] + offset)
        all_names.append(level_names)
        offset += len(level_names)
    local, names = np.concatenate(local), np.concatenate(all_names)
    used = np.zeros(len(names), dtype=bool)
    used[local] = True  # only the grams that occur: a boundary mark is an item but never a term
    return np.concatenate(rows), (np.cumsum(used) - 1)[local], names[used]


GROUPS_AT_ONCE = 4_096


def _groups_having(groups: sp.spmatrix, terms: sp.spmatrix) -> np.ndarray:
    """How many groups have each term, the groups being sums of items (groups × items) and the
    items' terms `terms` (items × terms): the columns met in each row of `groups @ terms`, worked
    out a few thousand groups at a time. Only the product's pattern is needed, and whole it would
    be as large as the fitted space (330 MB of character n-grams at 100,000 hosts)."""
    groups, terms = sp.csr_matrix(groups), sp.csr_matrix(terms)
    having = np.zeros(terms.shape[1], dtype=np.int64)
    for first in range(0, groups.shape[0], GROUPS_AT_ONCE):
        having += np.bincount((groups[first:first + GROUPS_AT_ONCE] @ terms).indices, minlength=terms.shape[1])
    return having


def _counts(rows, columns, shape) -> sp.csc_matrix:
    return sp.csc_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=shape)


class _Counter:
    """What both counters share: a sorted vocabulary learnt by `fit_transform` and looked up by
    `transform`, which leaves out terms the vocabulary lacks. The counts come column-major, as the
    matcher adds them up and keeps them (a search reads the columns of its terms)."""

    def fit_transform(self, tokens: Tokens, groups: sp.spmatrix | None = None):
        """The texts' counts, once the vocabulary is learnt; given `groups` (groups × texts, such as
        hosts × their field texts), also how many groups have each term (IDF's document
        frequencies over the groups, worked out from the same occurrences)."""
        rows, local_terms, names = self._occurrences(tokens)
        if not len(names):
            raise ValueError("empty vocabulary; the texts have no terms")
        order = np.argsort(np.asarray(names, dtype=str), kind="stable")
        self.terms_ = np.asarray(names, dtype=object)[order]
        self._index = None
        column = np.empty(len(order), dtype=np.int64)
        column[order] = np.arange(len(order))
        counts, having = self._matrix(rows, local_terms, column, tokens.count, groups)
        return counts if groups is None else (counts, having)

    def transform(self, tokens: Tokens) -> sp.csc_matrix:
        rows, local_terms, names = self._occurrences(tokens)
        return self._matrix(rows, local_terms, self.columns(names), tokens.count)[0]

    def columns(self, names) -> np.ndarray:
        """The vocabulary's column of each name, -1 for a name it lacks."""
        if getattr(self, "_index", None) is None:
            self._index = pd.Index(self.terms_)
        return self._index.get_indexer(np.asarray(names, dtype=object))

    def __contains__(self, term: str) -> bool:
        return bool(self.columns([term])[0] >= 0)

    def get_feature_names_out(self) -> np.ndarray:
        return self.terms_

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_index"}  # rebuilt on first lookup


class PhraseCounter(_Counter):
    """Word n-grams within runs of words between boundary marks ('digital twins', never
    'partners hydrogen' from 'partners | hydrogen'): the counts CountVectorizer gave with a per-text
    analyser of those n-grams."""

    def __init__(self, ngram_range=(1, 2)):
        self.ngram_range = ngram_range

    def _occurrences(self, tokens: Tokens):
        """Each n-gram occurrence as (text, local term id), and the local terms' names."""
        return _ngrams(tokens.ids, tokens.text_of, ~tokens.is_boundary[tokens.ids], tokens.distinct, " ",
                       self.ngram_range)

    def _matrix(self, rows, local_terms, column, n_texts, groups=None):
        columns = column[local_terms]
        known = columns >= 0
        counts = _counts(rows[known], columns[known], (n_texts, len(self.terms_)))
        return counts, None if groups is None else _groups_having(groups, counts)

    def unknown_words(self, tokens: Tokens) -> tuple[int, int]:
        """How many of the texts' word occurrences the vocabulary lacks, and how many there are."""
        occurring = tokens.ids[~tokens.is_boundary[tokens.ids]]
        unknown = self.columns(tokens.distinct) < 0
        return int(unknown[occurring].sum()), len(occurring)


class CharCounter(_Counter):
    """Character n-grams within words, each word padded with a space on both sides: the counts of
    CountVectorizer(analyzer='char_wb', lowercase=False) on the texts with boundary marks removed."""

    def __init__(self, ngram_range=(3, 4)):
        self.ngram_range = ngram_range

    def _occurrences(self, tokens: Tokens):
        """(texts × words counts, words × local n-grams counts, the local n-grams' names)."""
        text_of, ids, words = tokens.text_of, tokens.ids, tokens.distinct
        keep = ~tokens.is_boundary[ids]
        per_text = _counts(text_of[keep], ids[keep], (tokens.count, len(words)))
        padded = "".join(f" {w} " for w in words)
        char_ids, chars = pd.factorize(np.frombuffer(padded.encode("utf-32-le"), dtype=np.uint32))
        word_of = np.repeat(np.arange(len(words)), [len(w) + 2 for w in words])
        word_of_gram, local, names = _ngrams(char_ids.astype(np.int64), word_of, ~tokens.is_boundary[word_of],
                                             np.asarray([chr(c) for c in chars], dtype=object), "",
                                             self.ngram_range, whole_short_segments=True)
        return per_text, (word_of_gram, local), names

    def _matrix(self, per_text, word_grams, column, n_texts, groups=None):
        """Counts as texts × words @ words × n-grams; the groups having each n-gram from (groups ×
        words) @ words × n-grams, on a second thread (sparse products release the interpreter): a
        group's texts share many words, so summing words first is half the work."""
        word_of, codes = word_grams
        columns = column[codes]
        known = columns >= 0
        per_word = _counts(word_of[known], columns[known], (per_text.shape[1], len(self.terms_)))
        if groups is None:
            return per_text @ per_word, None
        with ThreadPoolExecutor(max_workers=1) as pool:
            having = pool.submit(_groups_having, groups @ per_text, per_word)
            return per_text @ per_word, having.result()
