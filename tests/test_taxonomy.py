"""The platform's sector taxonomy in matching: labels and other languages meet English prose about the
same sector, on a small hand-made set of hosts that never name the labels."""

import pandas as pd
import pytest

from cx import taxonomy
from cx.ecosystems import ECOSYSTEMS
from cx.errors import EmptyObjectives, TooGeneralObjectives, UnclearObjectives
from cx.matching import HostMatcher, fold, stop_words

HOSTS = pd.DataFrame([
    ("consult-be", "Brussels Advisory Network", "BE", "Brussels",
     "Management consulting and advisory for small firms: strategy, accounting and legal advice."),
    ("auto-cz", "Moravian Car Parts", "CZ", "Brno",
     "Car makers and their suppliers of car parts and powertrains, based in Moravia."),
    ("food-dk", "Jutland Dairy Valley", "DK", "Aarhus",
     "Dairy, bakery and beverage producers improving food safety together."),
    ("wood-si", "Alpine Timber", "SI", "Kranj",
     "Sawmills, joinery and wooden houses made of Slovenian timber."),
    ("photon-lt", "Vilnius Laser Valley", "LT", "Vilnius",
     "Lasers and optoelectronics for industry and science."),
    ("tour-gr", "Aegean Islands Hospitality", "GR", "Rhodes",
     "Hotels, restaurants and destinations of the Aegean islands welcoming travellers all year."),
    ("iot-fi", "Helsinki Connected Things", "FI", "Helsinki",
     "Internet of things: connected devices and embedded systems; services for members."),
], columns=["id", "name", "country", "city", "description"])


@pytest.fixture(scope="module")
def matcher():
    return HostMatcher().fit(HOSTS)


@pytest.mark.parametrize("objectives, best", [
    ("Sectoral Industries: Business Services", "consult-be"),
    ("Sectoral Industries: Automotive. Emerging industries: Mobility Technologies", "auto-cz"),
    ("Sectoral Industries: Wood Products; Forestry", "wood-si"),
    ("Sectoral Industries: Hospitality and Tourism. Emerging industries: Experience Industries", "tour-gr"),
    ("Technology fields: Photonics", "photon-lt"),
])
def test_taxonomy_labels_find_the_host_whose_prose_describes_the_sector(matcher, objectives, best):
    assert matcher.suggest(objectives, visitor_country="PT")["id"].iloc[0] == best


@pytest.mark.parametrize("objectives, best", [
    ("Wir suchen Zulieferer der Automobilindustrie", "auto-cz"),
    ("Transformation agroalimentaire et produits laitiers", "food-dk"),
    ("Turismo y hostelería en las islas", "tour-gr"),
    ("Collaborazione con aziende di consulenza", "consult-be"),
    ("Przemysł drzewny i tartaki", "wood-si"),
])
def test_objectives_in_other_languages_find_english_profiles(matcher, objectives, best):
    assert matcher.suggest(objectives, visitor_country="PT")["id"].iloc[0] == best


def test_picked_sectors_feed_the_matcher_with_or_without_objectives(matcher):
    assert matcher.suggest("", sectors=["Food Processing and Manufacturing"])["id"].iloc[0] == "food-dk"
    assert matcher.suggest("partners abroad", sectors=["Wood Products"])["id"].iloc[0] == "wood-si"


@pytest.mark.parametrize("objectives", ["Sectoral Industries:", "Technology fields: ; S3 EU priority areas:"])
def test_field_names_alone_match_nothing(matcher, objectives):
    with pytest.raises(EmptyObjectives, match="only the platform's field names"):
        matcher.suggest(objectives)


def test_reasons_name_the_label_that_bridged_the_match(matcher):
    reasons = matcher.suggest("Sectoral Industries: Business Services")["reasons"].iloc[0]
    assert any(r.startswith("Business Services → ") and "consulting" in r for r in reasons), reasons
    cars = matcher.suggest("Sectoral Industries: Automotive")["reasons"].iloc[0]
    bridge = next(r for r in cars if r.startswith("Automotive → "))
    said = [fold(w) for w in bridge.split(" → ")[1].split(", ")]
    assert len(said) == len(set(said)) == 3, bridge  # "Car Parts" and "car parts" are said once
    german = matcher.suggest("Holzverarbeitung")["reasons"].iloc[0]
    assert any(r.startswith("Wood Products → ") for r in german), german


def test_labels_are_single_terms_never_phrases(matcher):
    """The order in which a profile or a list mentions labels says nothing: no phrase of two concepts."""
    assert any(taxonomy.is_concept(t) for t in matcher.word_terms_)
    assert not [t for t in matcher.word_terms_ if " " in t and any(taxonomy.is_concept(w) for w in t.split())]


def test_stop_words_only_are_called_common_words(matcher):
    with pytest.raises(EmptyObjectives, match="hold only common words"):
        matcher.suggest("the and of with")


def test_vague_objectives_are_too_general_not_internet_of_things(matcher):
    with pytest.raises(TooGeneralObjectives, match="too general"):
        matcher.suggest("we want to learn new things")


def test_nothing_found_suggests_english_or_sectors(matcher):
    with pytest.raises(UnclearObjectives, match="pick sectors, or write the objectives in English"):
        matcher.suggest("Schweinezucht Vollmilch Quark")  # words the taxonomy and no profile know


def test_reasons_leave_out_filler_words(matcher):
    reasons = matcher.suggest("services for connected devices based on members' help")["reasons"].iloc[0]
    assert reasons and not {"services", "members", "based", "help"} & {w for r in reasons for w in r.split()}
    assert not any("(for " in r for r in reasons if r.startswith("services")), reasons


def test_acronyms_evoke_only_as_written():
    assert "IT" in str(taxonomy.evoked("IT companies").values())
    assert not taxonomy.evoked("it is what it is")
    assert not taxonomy.evoked("ai nostri partner")  # Italian 'ai' is not AI


def test_every_label_has_vocabulary_in_six_languages_and_known_ecosystems():
    labels = taxonomy.labels()
    counts = pd.Series([label.list for label in labels]).value_counts()
    assert counts["Sectoral Industries"] == 51 and counts["Emerging industries"] == 10
    assert counts["Industrial ecosystems"] == len(ECOSYSTEMS) == 14
    for label in labels:
        assert all(label.vocabulary[language] for language in taxonomy.LANGUAGES), label.name
        assert label.ecosystems and set(label.ecosystems) <= set(ECOSYSTEMS), label.name


def test_no_word_of_the_vocabulary_is_a_stop_word_of_an_eu_language():
    """'son' is French for sound and Spanish for 'are'; 'mare' is Italian for sea and Romanian for big."""
    clashes = [(label.name, term) for label in taxonomy.labels() for terms in label.vocabulary.values()
               for term in terms if " " not in term and not term.isupper() and fold(term) in stop_words()]
    assert not clashes


def test_a_fit_finds_for_each_profile_the_labels_a_lookup_of_it_alone_finds():
    """A fit looks labels up for all profiles at once and skips words that begin no term; each
    profile must still evoke what it evokes on its own (names, stems, acronyms, other languages,
    terms of several words, words that begin no term)."""
    texts = [*HOSTS["description"], "IT companies and AI start-ups", "industria de la madera y del mueble",
             "Lebensmittelindustrie, Automoción 4.0 und przemysł lotniczy", "Cluster 12345 xyzzy", "",
             "Sectoral Industries: Business Services; Technology fields: Photonics"]
    texts = [taxonomy.without_field_names(t) for t in texts]
    found = [set(t.split()) for t in taxonomy.evoked_concepts(texts)]
    assert found == [set(taxonomy.evoked(t)) for t in texts]
    assert sum(map(len, found)) > len(texts)


def test_a_label_spoken_of_in_several_places_counts_twice_at_most():
    automotive = taxonomy.concept_token("Automotive")
    once, often = taxonomy.evoked_concepts(["Suppliers to car makers in Moravia.",
                                            "Car makers, car parts and automotive suppliers: the car industry."])
    assert once.split().count(automotive) == 1
    assert often.split().count(automotive) == taxonomy.MENTIONS_COUNTED == 2
