"""The vectorised counters and normaliser give exactly what the per-text versions gave: the same
terms, the same counts, the same normalised text."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer

from cx.matching import (BREAK, TOKEN, _field_text, normalise, normalise_many, normalised_tokens, stop_words,
                         unaccented)
from cx import term_counts
from cx.term_counts import CharCounter, PhraseCounter, Tokens, split_on_spaces
from tests.test_matching import HOSTS

EDGES = ["", "a|b c", "  x  ", "Ünïcode wörds | ok ok ok", "| leading | | breaks |", "one", "b2b r&d 5g ai", ""]


def texts():
    return [t for field in ("name", "description", "ecosystems") for t in _field_text(HOSTS[field].tolist())[0].texts()] + EDGES


def phrases(ngram_range):
    """The analyser CountVectorizer ran before: word n-grams within runs between breaks."""
    low, high = ngram_range

    def analyse(text):
        grams = []
        for run in text.split(BREAK):
            tokens = run.split()
            for n in range(low, high + 1):
                grams.extend(" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
        return grams
    return analyse


@pytest.mark.parametrize("ours, theirs", [
    (PhraseCounter((1, 2)), CountVectorizer(analyzer=phrases((1, 2)))),
    (PhraseCounter((1, 1)), CountVectorizer(analyzer=phrases((1, 1)))),
    (PhraseCounter((2, 3)), CountVectorizer(analyzer=phrases((2, 3)))),
    (CharCounter((3, 4)), CountVectorizer(analyzer="char_wb", lowercase=False, ngram_range=(3, 4),
                                          preprocessor=lambda t: t.replace(BREAK, " "))),
    (CharCounter((4, 5)), CountVectorizer(analyzer="char_wb", lowercase=False, ngram_range=(4, 5),
                                          preprocessor=lambda t: t.replace(BREAK, " "))),
], ids=["words 1-2", "words 1", "words 2-3", "characters 3-4", "characters 4-5"])
def test_counters_match_count_vectorizer(ours, theirs):
    corpus = texts()
    counted, expected = ours.fit_transform(Tokens(corpus)), theirs.fit_transform(corpus)
    assert ours.get_feature_names_out().tolist() == theirs.get_feature_names_out().tolist()
    assert counted.shape == expected.shape and (counted != expected).nnz == 0
    queries = ["digital twins | of hydrogen valleys", "qwxz unknown words", "", "moulding moulding"]
    assert (ours.transform(Tokens(queries)) != theirs.transform(queries)).nnz == 0


@pytest.mark.parametrize("counter", [PhraseCounter(), CharCounter()], ids=["words", "characters"])
@pytest.mark.parametrize("at_once", [2, 4_096])
def test_the_groups_having_each_term_are_counted_in_the_groups_sums(counter, at_once, monkeypatch):
    """IDF's document frequencies over groups of texts (a host's field texts), a few groups at a time."""
    monkeypatch.setattr(term_counts, "GROUPS_AT_ONCE", at_once)
    corpus = texts()
    rng = np.random.default_rng(7)
    groups = sp.csc_matrix((np.ones(len(corpus), dtype=np.float32), (rng.integers(0, 9, len(corpus)), np.arange(len(corpus)))),
                           shape=(9, len(corpus)))
    counts, having = counter.fit_transform(Tokens(corpus), groups=groups)
    assert (counter.fit_transform(Tokens(corpus)) != counts).nnz == 0
    expected = ((groups @ counts) > 0).sum(axis=0).A1
    assert having.tolist() == expected.tolist() and 0 < having.min() and having.max() <= 9


@pytest.mark.parametrize("text", ["", " ", "a b  c ", "  x\ty  a  b a", "Kraków  x", "a\x01b \x01 c"])
def test_short_and_long_texts_are_split_alike(text, monkeypatch):
    """Python splits a short text, Arrow a long one: the same pieces, numbered alike."""
    for joined in (text, text.encode(), " ".join([text] * 3)):
        short = split_on_spaces(joined)
        monkeypatch.setattr(term_counts, "ARROW_FROM", 0)
        long = split_on_spaces(joined)
        monkeypatch.undo()
        assert long[0].tolist() == short[0].tolist() and list(long[1]) == list(short[1])


def test_an_empty_corpus_has_no_vocabulary():
    with pytest.raises(ValueError):
        PhraseCounter().fit_transform(Tokens(["", "|"]))


def test_unknown_words_are_counted_against_the_fitted_vocabulary():
    counter = PhraseCounter()
    counter.fit_transform(Tokens(["hydrogen valley", "digital twins"]))
    assert counter.unknown_words(Tokens(["hydrogen kelp | kelp farming", ""])) == (3, 4)


def per_text_normalise(text):
    """`normalise` as it was written before it was vectorised, one text at a time."""
    if not isinstance(text, str):
        return ""
    stop = stop_words()
    tokens = [BREAK if w.casefold() in stop and not w.isupper() else w.casefold()
              for w in TOKEN.findall(unaccented(text))]
    return " ".join(t for i, t in enumerate(tokens) if t != BREAK or (i and tokens[i - 1] != BREAK))


def raw_texts():
    return HOSTS["description"].tolist() + HOSTS["name"].tolist() + [
        "", None, np.nan, 3, "the and of", "IT and AI in the Kraków Münster\x01cluster", "a", "of the hydrogen",
        "x\ny of\tz", "ŒUVRE ǅ straße ﬁbre", "hydrogen.valleys,and-the|pipes",
        "Ελληνικά και русский текст",
        "snake_case words_2 ok", "\x00null\x1e separated\x1f", "  ", "the"]


def test_normalising_many_texts_at_once_equals_one_at_a_time():
    corpus = raw_texts()
    assert normalise_many(corpus) == [per_text_normalise(t) for t in corpus]
    assert [normalise(t) for t in corpus] == normalise_many(corpus)


def test_normalised_words_are_the_tokens_of_the_normalised_text():
    """A fit reads the normalised words as they are found, never joined into text and split again."""
    corpus = raw_texts()
    direct, split = normalised_tokens(corpus), Tokens(normalise_many(corpus), BREAK)
    assert direct.count == split.count and np.array_equal(direct.text_of, split.text_of)
    assert direct.distinct[direct.ids].tolist() == split.distinct[split.ids].tolist()
    assert sorted(direct.distinct) == sorted(split.distinct)  # only the words that occur


@pytest.mark.parametrize("ngram_range", [(5, 6), (1, 3), (2, 2)])
def test_short_words_count_once_whole_as_char_wb_counts_them(ngram_range):
    corpus = ["ab cd | abcdef", "x", "ok ok abc"]
    theirs = CountVectorizer(analyzer="char_wb", lowercase=False, ngram_range=ngram_range,
                             preprocessor=lambda t: t.replace(BREAK, " "))
    ours = CharCounter(ngram_range)
    assert (ours.fit_transform(Tokens(corpus)) != theirs.fit_transform(corpus)).nnz == 0
    assert ours.get_feature_names_out().tolist() == theirs.get_feature_names_out().tolist()
