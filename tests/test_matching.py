"""HostMatcher on a small hand-made set of hosts whose right answers are obvious to a person."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.preprocessing import normalize

from cx import matching
from cx.errors import (CxError, EmptyObjectives, IneligibleCountry, NoEligibleHost, UnclearObjectives, UnknownCity,
                       VisitedAlready)
from cx.matching import BREAK, HostMatcher, normalise, read_hosts, words
from cx.term_counts import Tokens
from cx.visitors import visitor_details
from viewers import OFFICER

HOSTS = pd.DataFrame([
    ("twin-de", "Stuttgart Simulation Lab", "DE", "Stuttgart", "Digital",
     "Digital twins of injection moulding plants and simulation of plastics processing."),
    ("mould-at", "Plastics Cluster Salzburg", "AT", "Salzburg", "Energy-Intensive Industries",
     "Injection moulding, plastics processing and digital twins of moulding machines for our member companies."),
    ("h2-pt", "Hydrogen Valley Portugal", "PT", "Porto", "Energy – Renewables",
     "A hydrogen valley: electrolysers, green hydrogen production and storage for industry and ports."),
    ("h2-no", "Hydrogen Cluster Norway", "NO", "Bergen", "Energy – Renewables",
     "Hydrogen valleys, electrolysers and green hydrogen for shipping."),
    ("textile-fi", "Smart Textiles Finland", "FI", "Tampere", "Textile",
     "Smart textiles and wearable sensors; entry to the Nordic market for functional fabrics."),
    ("food-fr", "Food Processing Cluster Brittany", "FR", "Rennes", "Agri-food",
     "Food processing, dairy and food safety for small producers."),
    ("mould-it", "Stampi Plastica Italia", "IT", "Milan", "Energy-Intensive Industries",
     "Injection moulding of plastic parts and mould making."),
    ("wine-es", "Rioja Wine Tourism Cluster", "ES", "Logroño", "Tourism",
     "Wine making and wine tourism, hospitality and cultural heritage."),
], columns=["id", "name", "country", "city", "ecosystem", "description"])
HOSTS["ecosystems"] = [[e] for e in HOSTS.pop("ecosystem")]
HOSTS["can_host"] = HOSTS["id"] != "mould-it"


@pytest.fixture(scope="module")
def matcher():
    return HostMatcher().fit(HOSTS)


@pytest.mark.parametrize("objectives, best", [
    ("adopt digital twins in our injection-moulding plant", "mould-at"),
    ("find partners for hydrogen valleys", "h2-pt"),
    ("explore the Nordic market for smart textiles", "textile-fi"),
    ("food safety for dairy producers", "food-fr"),
    ("hydrogn electrolyzers", "h2-pt"),  # typos
    ("moulded plastic components", "mould-at"),  # inflections
    ("Weintourismus und Gastfreundschaft in the wine regions", "wine-es"),  # a compound and another language
])
def test_the_obviously_right_host_comes_first(matcher, objectives, best):
    suggestions = matcher.suggest(objectives, visitor_country="DE")
    assert suggestions["id"].iloc[0] == best
    assert suggestions["score"].is_monotonic_decreasing
    assert suggestions["score"].between(0, 1).all()


@pytest.mark.parametrize("visitor_country", ["DE", "AT", "PT", "FI", "FR", "ES", "IT"])
def test_only_eligible_hosts_abroad_that_host_ever_appear(matcher, visitor_country):
    suggestions = matcher.suggest("digital twins, injection moulding, hydrogen, smart textiles, food, wine tourism",
                                  visitor_country=visitor_country, k=20)
    assert len(suggestions) > 0
    assert visitor_country not in set(suggestions["country"])
    assert "h2-no" not in set(suggestions["id"])  # Norway is not in the call
    assert "mould-it" not in set(suggestions["id"])  # registered, but not as a host


def test_a_visitor_in_germany_never_gets_the_german_twin_lab(matcher):
    assert "twin-de" in set(matcher.suggest("digital twins simulation", visitor_country="AT")["id"])
    assert "twin-de" not in set(matcher.suggest("digital twins simulation", visitor_country="DE")["id"])


def test_reasons_name_the_shared_terms(matcher):
    suggestions = matcher.suggest("adopt digital twins in our injection-moulding plant", visitor_country="DE")
    reasons = suggestions.set_index("id").at["mould-at", "reasons"]
    assert "digital twins" in reasons
    assert "injection moulding" in reasons
    assert "digital" not in reasons  # the phrase says it already


def test_reasons_show_the_profile_word_met_through_a_typo(matcher):
    reasons = matcher.suggest("hydrogn electrolysers", visitor_country="DE").set_index("id").at["h2-pt", "reasons"]
    assert "electrolysers" in reasons
    assert "hydrogen (for hydrogn)" in reasons


@pytest.mark.parametrize("objectives", ["", "   \n\t", "the and of it", "!!! ???", None])
def test_empty_objectives_get_a_message(matcher, objectives):
    with pytest.raises(EmptyObjectives, match="describe in a few words what the visitor wants"):
        matcher.suggest(objectives, visitor_country="DE")


@pytest.mark.parametrize("objectives", ["qwxz blorf vvkk", "lorem ipsum dolor sit amet"])
def test_nonsense_objectives_get_a_message_not_a_random_list(matcher, objectives):
    with pytest.raises(UnclearObjectives, match="no host profile resembles"):
        matcher.suggest(objectives, visitor_country="DE")


def test_a_visitor_who_already_travelled_gets_an_explanation(matcher):
    with pytest.raises(VisitedAlready, match="already has 1 approved or completed exchange .* visit once"):
        matcher.suggest("hydrogen valleys", visitor_country="DE", visits_taken=1)


def test_filters_that_leave_no_host_say_so(matcher):
    with pytest.raises(NoEligibleHost, match=r"in FR"):
        matcher.suggest("hydrogen valleys", visitor_country="DE", countries=["FR"])
    with pytest.raises(NoEligibleHost, match="no eligible organisation may host here .*in the ecosystem Retail"):
        matcher.suggest("hydrogen valleys", visitor_country="DE", ecosystems=["Retail"])


def test_countries_and_ecosystems_filter(matcher):
    assert set(matcher.suggest("processing", visitor_country="DE", countries=["fr"])["id"]) == {"food-fr"}
    assert set(matcher.suggest("processing", visitor_country="DE", ecosystems=["Agri-food"])["id"]) == {"food-fr"}


def test_a_visitor_outside_the_call_or_in_an_unknown_city_is_told(matcher):
    with pytest.raises(IneligibleCountry):
        matcher.suggest("hydrogen", visitor_country="NO")
    with pytest.raises(UnknownCity, match="Stuttgart"):
        matcher.suggest("hydrogen", visitor_country="DE", visitor_city="Stutgart")


def test_distance_and_lump_sum_when_place_and_dates_are_known(matcher, rulebook):
    # Monday 2 to Friday 6 March 2026: five working days in Portugal and in Austria.
    suggestions = matcher.suggest("hydrogen valleys, injection moulding", visitor_country="DE",
                                  visitor_city="Munich", start="2026-03-02", end="2026-03-06").set_index("id")
    porto, salzburg = suggestions.loc["h2-pt"], suggestions.loc["mould-at"]
    assert 1700 < porto["distance_km"] < 1850
    assert porto["working_days"] == 5
    expected = rulebook.lump_sum("PT", "2026-03-02", "2026-03-06", porto["distance_km"])
    assert porto["lump_sum_eur"] == expected.lump_sum_eur
    assert not porto["halved"]
    assert salzburg["distance_km"] < 200  # Munich to Salzburg: the lump sum is halved
    assert salzburg["halved"] and "km apart, less than 200 km" in salzburg["halving_reason"]
    assert salzburg["lump_sum_eur"] == rulebook.ceilings(["AT"])[0] // 2


def test_no_lump_sum_without_the_visitors_place(matcher):
    suggestions = matcher.suggest("hydrogen", visitor_country="DE", start="2026-03-02", end="2026-03-06")
    assert suggestions["distance_km"].isna().all() and suggestions["lump_sum_eur"].isna().all()
    assert (suggestions["working_days"] == 5).all()


def test_scikit_learn_conventions():
    matcher = HostMatcher(word_share=0.3)
    assert clone(matcher).get_params()["word_share"] == 0.3
    assert not hasattr(matcher, "char_columns_")
    with pytest.raises(NotFittedError):
        matcher.suggest("hydrogen")
    assert matcher.fit(HOSTS) is matcher
    assert matcher.word_columns_.shape[0] == matcher.char_columns_.shape[0] == len(HOSTS)


@pytest.mark.parametrize("values_at_once", [7, matching.VALUES_AT_ONCE])
def test_each_space_is_the_weighted_sum_of_the_fields_tf_idf_rows_normalised(values_at_once, monkeypatch):
    """The spaces, worked out column-major, are what scikit-learn gives row by row: each field row's
    TF-IDF (IDF over hosts having the term in any field), weighted, summed per host, normalised,
    whether the stored values are worked on at once or a few at a time."""
    monkeypatch.setattr(matching, "VALUES_AT_ONCE", values_at_once)
    matcher = HostMatcher().fit(HOSTS)
    fields, _ = matcher._fields(HOSTS)
    n, weights = len(HOSTS), list(matcher.weights_.values())
    for counter, fitted in ((matcher.word_counter_, matcher.word_columns_), (matcher.char_counter_, matcher.char_columns_)):
        stacked = counter.transform(fields.tokens).tocsr()[fields.rows.T.ravel()]  # each host's field rows, field after field
        per_host = sum(stacked[f * n:(f + 1) * n] for f in range(len(weights)))
        tf_idf = TfidfTransformer(sublinear_tf=True).fit(per_host).transform(stacked)
        expected = normalize(sum(w * tf_idf[f * n:(f + 1) * n] for f, w in enumerate(weights)))
        np.testing.assert_allclose(fitted.toarray(), expected.toarray(), atol=1e-6)
    np.testing.assert_allclose(matcher.word_rows_.toarray(), matcher.word_columns_.toarray())


@pytest.mark.parametrize("text", ["digital twins | hydrogen valleys hydrogen", "qwxz", ""])
def test_a_query_is_its_tf_idf_normalised_as_scikit_learn_gives_it(matcher, text):
    tokens = Tokens([text], BREAK)
    for query, counter, idf in zip(matcher._query(text), (matcher.word_counter_, matcher.char_counter_), matcher.idf_):
        np.testing.assert_allclose(query.toarray(), normalize(idf.transform(counter.transform(tokens))).toarray(),
                                   atol=1e-6)


def test_fit_names_the_missing_columns():
    with pytest.raises(CxError, match="lacks the columns country, description"):
        HostMatcher().fit(HOSTS[["id", "name"]])


def test_stop_words_of_eu_languages_go_but_acronyms_stay():
    assert words("the cluster and the IT sector, der Verein und die Firmen, le pôle et les entreprises") == [
        "cluster", "it", "sector", "verein", "firmen", "pole", "entreprises"]
    assert normalise("partners for hydrogen").split() == ["partners", "|", "hydrogen"]


def test_hosts_from_csv(tmp_path, matcher):
    path = tmp_path / "hosts.csv"
    HOSTS.assign(ecosystems=HOSTS["ecosystems"].str.join("; "),
                 can_host=np.where(HOSTS["can_host"], "yes", "no")).to_csv(path, index=False)
    hosts = read_hosts(path)
    assert hosts.at[0, "ecosystems"] == ["Digital"] and hosts["can_host"].tolist() == HOSTS["can_host"].tolist()
    again = HostMatcher().fit(hosts).suggest("hydrogen", visitor_country="DE", ecosystems=["Energy – Renewables"])
    assert again["id"].tolist() == matcher.suggest("hydrogen", visitor_country="DE")["id"].tolist()


def test_visitor_details_from_the_database(demo_store, rulebook):
    exchanges = demo_store.table("exchanges")
    travelled = exchanges.loc[exchanges["status"] == "paid", "visitor_id"].iloc[0]
    details = visitor_details(demo_store, OFFICER, travelled, rulebook)
    assert details["visits_taken"] >= 1 and len(details["visitor_country"]) == 2
    matcher = HostMatcher().fit(demo_store.organisations(OFFICER))
    with pytest.raises(VisitedAlready):
        matcher.suggest("digital twins", **details)
    with pytest.raises(CxError, match="no registered organisation 'nobody'"):
        visitor_details(demo_store, OFFICER, "nobody", rulebook)
