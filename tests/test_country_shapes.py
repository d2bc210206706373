"""The map's own country shapes: every eligible country, with ISO-2 ids, built by the kept script."""

import importlib.util
import json

from shapely.geometry import shape

from cx import PROJECT_ROOT
from cx.geo import COUNTRY_SHAPES, country_shapes


def test_every_eligible_country_has_a_shape_with_its_iso2_id(rulebook):
    features = {feature["id"]: feature for feature in country_shapes()["features"]}
    assert set(rulebook.eligible_countries) <= set(features)
    for code in ("MT", "XK", "FR", "CY", "NO"):
        geometry = shape(features[code]["geometry"])
        assert geometry.is_valid and geometry.area > 0, code
    assert features["XK"]["properties"]["name"] == "Kosovo"
    malta = shape(features["MT"]["geometry"])
    assert malta.bounds[0] > 14 and malta.bounds[2] < 14.7 and 35.7 < malta.centroid.y < 36.1


def test_shapes_are_where_the_gazetteer_puts_capitals(rulebook):
    from cx.geo import gazetteer

    features = {feature["id"]: shape(feature["geometry"]) for feature in country_shapes()["features"]}
    from shapely.geometry import Point

    for city, code in (("Paris", "FR"), ("Lisbon", "PT"), ("Pristina", "XK"), ("Valletta", "MT"), ("Yerevan", "AM")):
        lat, lon = gazetteer().locate(city, code)
        assert features[code].buffer(0.15).contains(Point(lon, lat)), city


def test_the_shipped_file_is_what_the_script_builds():
    spec = importlib.util.spec_from_file_location("build", PROJECT_ROOT / "scripts" / "build_country_shapes.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    assert build.build() == json.loads(COUNTRY_SHAPES.read_text(encoding="utf-8"))
    assert COUNTRY_SHAPES.stat().st_size < 150_000  # compact enough to ship and send to the browser
