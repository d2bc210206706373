"""Counting the matcher's terms in many profiles at once.

scikit-learn's CountVectorizer runs its analyser once per text in Python: at 100,000 hosts
(500,000 field texts) that was three quarters of a fit. These counters give the same matrices
(same terms, same counts, columns in the same sorted order) by working on distinct words
instead: all texts are split in one call and their words factorised; word n-grams are built from
word ids with numpy; character n-grams are worked out once per distinct word and spread to the
texts by one sparse product. A fitted counter's vocabulary is fixed, so `transform` of a changed
profile or of a visitor's query lands in the same columns.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer


def _tokens(texts: list[str], boundary: str):
    """Every text's whitespace-separated tokens in one pass: the text each token comes from, its
    id among the distinct tokens, and the distinct tokens. A boundary mark is always a token of
    its own."""
    texts = [t.replace(boundary, f" {boundary} ") for t in texts]
    per_text = np.fromiter((len(t.split()) for t in texts), dtype=np.int64, count=len(texts))
    tokens = np.asarray(" ".join(texts).split(), dtype=object)
    ids, distinct = pd.factorize(tokens)
    return np.repeat(np.arange(len(texts)), per_text), ids.astype(np.int64), np.asarray(distinct, dtype=object)


def _counts(rows, columns, shape) -> sp.csr_matrix:
    return sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)), shape=shape)


class _Counter:
    """What both counters share: a sorted vocabulary learnt by `fit_transform` and looked up by
    `transform`, which leaves out terms the vocabulary lacks."""

    def fit_transform(self, texts) -> sp.csr_matrix:
        texts = list(texts)
        rows, local_terms, names = self._occurrences(texts)
        if not len(names):
            raise ValueError("empty vocabulary; the texts have no terms")
        order = np.argsort(np.asarray(names, dtype=str), kind="stable")
        self.terms_ = np.asarray(names, dtype=object)[order]
        self._index = None
        column = np.empty(len(order), dtype=np.int64)
        column[order] = np.arange(len(order))
        return self._matrix(rows, local_terms, column, len(texts))

    def transform(self, texts) -> sp.csr_matrix:
        texts = list(texts)
        rows, local_terms, names = self._occurrences(texts)
        return self._matrix(rows, local_terms, self.columns(names), len(texts))

    def columns(self, names) -> np.ndarray:
        """The vocabulary's column of each name, -1 for a name it lacks."""
        if getattr(self, "_index", None) is None:
            self._index = pd.Index(self.terms_)
        return self._index.get_indexer(np.asarray(names, dtype=object))

    def get_feature_names_out(self) -> np.ndarray:
        return self.terms_

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k != "_index"}  # rebuilt on first lookup


class PhraseCounter(_Counter):
    """Word n-grams within runs of words between boundary marks ('digital twins', never
    'partners hydrogen' from 'partners | hydrogen'): the counts of `Phrases` under CountVectorizer."""

    def __init__(self, ngram_range=(1, 2), boundary="|"):
        self.ngram_range = ngram_range
        self.boundary = boundary

    def _occurrences(self, texts):
        """Each n-gram occurrence as (text, local term id), and the local terms' names. An n-gram
        at position i extends the (n-1)-gram at i by the word at i + n - 1, so each length is
        one factorisation of integer pairs, never a string per occurrence."""
        low, high = self.ngram_range
        text_of, ids, words = _tokens(texts, self.boundary)
        is_word = (words != self.boundary)[ids]
        key, names = np.where(is_word, ids, -1), words
        rows, local, all_names, offset = [], [], [], 0
        for n in range(1, high + 1):
            if n > 1:
                m = len(ids) - n + 1
                ok = (key[:m] >= 0) & is_word[n - 1:] & (text_of[:m] == text_of[n - 1:])
                codes, pairs = pd.factorize(key[:m][ok] * len(words) + ids[n - 1:][ok])
                key = np.full(max(m, 0), -1, dtype=np.int64)
                key[ok] = codes
                names = np.asarray(pd.Series(names[pairs // len(words)]) + " " + words[pairs % len(words)],
                                   dtype=object)
            if n >= low:
                at = np.flatnonzero(key >= 0)
                rows.append(text_of[at])
                local.append(key[at] + offset)
                all_names.append(names)
                offset += len(names)
        local, names = np.concatenate(local), np.concatenate(all_names)
        used = np.zeros(len(names), dtype=bool)
        used[local] = True  # the boundary mark is a distinct token but never a term
        return np.concatenate(rows), (np.cumsum(used) - 1)[local], names[used]

    def _matrix(self, rows, local_terms, column, n_texts):
        columns = column[local_terms]
        known = columns >= 0
        return _counts(rows[known], columns[known], (n_texts, len(self.terms_)))

    def unknown_words(self, texts) -> tuple[int, int]:
        """How many of the texts' word occurrences the vocabulary lacks, and how many there are."""
        text_of, ids, words = _tokens(list(texts), self.boundary)
        occurring = ids[(words != self.boundary)[ids]]
        unknown = self.columns(words) < 0
        return int(unknown[occurring].sum()), len(occurring)


class CharCounter(_Counter):
    """Character n-grams within words, each word padded with a space on both sides: the counts of
    CountVectorizer(analyzer='char_wb', lowercase=False) on the texts with boundary marks removed."""

    def __init__(self, ngram_range=(3, 4), boundary="|"):
        self.ngram_range = ngram_range
        self.boundary = boundary

    def _occurrences(self, texts):
        """(texts × words counts, words × local n-grams counts, the local n-grams' names)."""
        text_of, ids, words = _tokens(texts, self.boundary)
        keep = (words != self.boundary)[ids]
        per_text = _counts(text_of[keep], ids[keep], (len(texts), len(words)))
        analyse = CountVectorizer(analyzer="char_wb", ngram_range=self.ngram_range, lowercase=False).build_analyzer()
        grams = [analyse(w) if w != self.boundary else [] for w in words]
        codes, names = pd.factorize(np.asarray([g for word in grams for g in word], dtype=object))
        word_of = np.repeat(np.arange(len(words)), [len(g) for g in grams])
        return per_text, (word_of, codes), np.asarray(names, dtype=object)

    def _matrix(self, per_text, word_grams, column, n_texts):
        word_of, codes = word_grams
        columns = column[codes]
        known = columns >= 0
        per_word = _counts(word_of[known], columns[known], (per_text.shape[1], len(self.terms_)))
        counts = (per_text @ per_word).tocsr()
        counts.sort_indices()
        return counts
