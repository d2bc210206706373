"""Build `static/countries.geojson`: the country outlines the offline maps draw.

Source: Natural Earth 1:110m admin-0 countries (public domain), as shipped in the `pyogrio` wheel
(`pyogrio/tests/fixtures/naturalearth_lowres`). The app never reads that fixture; it reads the
compact file this script writes, so a pyogrio upgrade cannot break a map.

What the script adds to the source, because the map must show every eligible country:
- ISO-2 ids for every feature (from the ISO-3 code through pycountry); France, Norway and Kosovo
  carry no usable ISO-3 code at this scale and are matched by name (Kosovo is XK, user-assigned).
- Northern Cyprus (a separate Natural Earth feature) is merged into Cyprus, the member state.
- Malta is too small for 1:110m: its two main islands are added as outlines traced by hand from
  the coastline's coordinates (accurate to about a kilometre, ample at the map's zoom).
Features are kept within a box around Europe (clipped), rounded to 3 decimals (about 100 m).

Run: python scripts/build_country_shapes.py   (writes static/countries.geojson)
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pycountry
import pyogrio
from shapely.geometry import Polygon, box, mapping
from shapely.ops import unary_union

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(pyogrio.__file__).parent / "tests" / "fixtures" / "naturalearth_lowres" / "naturalearth_lowres.shp"
TARGET = ROOT / "static" / "countries.geojson"
EUROPE = box(-40.0, 12.0, 75.0, 75.0)  # lon/lat: Iceland and the Azores to the Caucasus, with a margin
NO_ISO3 = {"France": "FR", "Norway": "NO", "Kosovo": "XK", "N. Cyprus": "CY"}
MALTA = [  # (lon, lat) around Malta, then Gozo
    [(14.329, 35.990), (14.372, 35.975), (14.405, 35.951), (14.455, 35.927), (14.514, 35.900),
     (14.560, 35.872), (14.566, 35.830), (14.535, 35.812), (14.470, 35.820), (14.420, 35.830),
     (14.380, 35.855), (14.335, 35.890), (14.327, 35.935)],
    [(14.185, 36.075), (14.230, 36.080), (14.300, 36.060), (14.335, 36.035), (14.300, 36.015),
     (14.220, 36.015), (14.185, 36.045)],
]


def iso2(name: str, iso3: str) -> str | None:
    if name in NO_ISO3:
        return NO_ISO3[name]
    country = pycountry.countries.get(alpha_3=iso3)
    return country.alpha_2 if country else None


def build() -> dict:
    world = gpd.read_file(SOURCE)
    world["id"] = [iso2(n, c) for n, c in zip(world["name"], world["iso_a3"])]
    world = world[world["id"].notna() & world.intersects(EUROPE)]
    shapes = {code: unary_union(list(group.geometry)).intersection(EUROPE) for code, group in world.groupby("id")}
    shapes["MT"] = unary_union([Polygon(ring) for ring in MALTA])
    features = []
    for code in sorted(shapes):
        country = pycountry.countries.get(alpha_2=code)
        name = "Kosovo" if code == "XK" else getattr(country, "common_name", None) or country.name
        geometry = json.loads(json.dumps(mapping(shapes[code])), parse_float=lambda v: round(float(v), 3))
        features.append({"type": "Feature", "id": code, "properties": {"name": name}, "geometry": geometry})
    return {"type": "FeatureCollection",
            "source": "Natural Earth 1:110m admin-0 countries (public domain), via scripts/build_country_shapes.py",
            "features": features}


if __name__ == "__main__":
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    collection = build()
    TARGET.write_text(json.dumps(collection, separators=(",", ":")), encoding="utf-8")
    print(f"{TARGET.relative_to(ROOT)}: {len(collection['features'])} countries, {TARGET.stat().st_size / 1024:.0f} KiB")
