"""The offline gazetteer and geodesic distances."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cx.errors import UnknownCity
from cx.geo import distance_km, gazetteer, geodesic_path, place_key
from cx.rules import load_rulebook

latitudes = st.floats(-89.9, 89.9, allow_nan=False)
longitudes = st.floats(-180, 180, allow_nan=False)


@pytest.mark.parametrize("city, country", [("Göteborg", "SE"), ("Gothenburg", "SE"), ("Århus", "DK"),
                                           ("Lisboa", "PT"), ("Kraków", "PL"), ("Cluj-Napoca", "RO"),
                                           ("Prishtina", "XK"), ("LIÈGE", "BE")])
def test_local_spellings_resolve(city, country):
    lat, lon = gazetteer().locate(city, country)
    assert 34 < lat < 72 and -25 < lon < 45


def test_every_eligible_country_has_places():
    cities = gazetteer().cities
    for country in load_rulebook().eligible_countries:
        assert (cities["country"] == country).sum() >= 3, country


def test_an_unknown_town_names_the_city_and_suggests_spellings():
    with pytest.raises(UnknownCity) as error:
        gazetteer().locate("Stutgart", "DE")
    assert "Stuttgart" in error.value.suggestions
    assert "'Stutgart' in DE" in str(error.value)


def test_a_city_is_placed_in_its_own_country_only():
    with pytest.raises(UnknownCity):
        gazetteer().locate("Lisbon", "ES")


def test_locate_many_leaves_unknown_places_empty():
    lat, lon = gazetteer().locate_many(["Porto", "Raaba-Grambach", None], ["PT", "AT", "DE"])
    assert not np.isnan(lat[0]) and np.isnan(lat[1:]).all() and np.isnan(lon[1:]).all()


def test_lisbon_to_stuttgart_is_about_1850_km():
    lisbon, stuttgart = gazetteer().locate("Lisbon", "PT"), gazetteer().locate("Stuttgart", "DE")
    assert 1800 < distance_km(*lisbon, *stuttgart) < 1900


def test_place_key_folds_accents_case_and_hyphens():
    assert place_key("  Cluj-Napoca ") == place_key("cluj napoca")
    assert place_key("Århus") == "arhus"


@settings(max_examples=200, deadline=None)
@given(latitudes, longitudes, latitudes, longitudes)
def test_distance_is_symmetric_and_zero_for_the_same_point(lat1, lon1, lat2, lon2):
    there, back = distance_km(lat1, lon1, lat2, lon2), distance_km(lat2, lon2, lat1, lon1)
    assert there == pytest.approx(back, rel=1e-9, abs=1e-6)
    assert distance_km(lat1, lon1, lat1, lon1) == pytest.approx(0, abs=1e-6)
    assert 0 <= there <= 20_040


def test_geodesic_path_runs_from_one_place_to_the_other():
    lats, lons = geodesic_path(38.7, -9.1, 48.8, 9.2, points=10)
    assert len(lats) == len(lons) == 12
    assert (lats[0], lons[0], lats[-1], lons[-1]) == (38.7, -9.1, 48.8, 9.2)
