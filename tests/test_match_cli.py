"""`python -m cx match`: the same matcher from the command line, on a CSV of hosts or the database."""

import json

import numpy as np
import pytest

from cx.cli import main
from tests.test_matching import HOSTS
from viewers import OFFICER


@pytest.fixture
def hosts_csv(tmp_path):
    path = tmp_path / "hosts.csv"
    HOSTS.assign(ecosystems=HOSTS["ecosystems"].str.join("; "),
                 can_host=np.where(HOSTS["can_host"], "yes", "no")).to_csv(path, index=False)
    return str(path)


def test_match_json_on_a_csv_of_hosts(capsys, hosts_csv):
    assert main(["match", "adopt digital twins in our injection-moulding plant", "--visitor-country", "DE",
                 "--visitor-city", "Munich", "--start", "2026-03-02", "--end", "2026-03-06",
                 "--hosts", hosts_csv, "--top", "3", "--json"]) == 0
    suggestions = json.loads(capsys.readouterr().out)
    assert len(suggestions) <= 3
    best = suggestions[0]
    assert best["id"] == "mould-at" and best["country"] == "AT"
    assert "digital twins" in best["reasons"]
    assert best["halved"] is True and best["lump_sum_eur"] > 0 and best["working_days"] == 5
    assert all(s["country"] != "DE" for s in suggestions)
    assert set(best) == {"id", "name", "country", "city", "kind", "score", "reasons", "distance_km", "working_days",
                         "lump_sum_eur", "halved", "halving_reason"}


def test_match_prints_a_ranked_list_with_reasons(capsys, hosts_csv):
    assert main(["match", "hydrogn valleys", "--visitor-country", "DE", "--hosts", hosts_csv, "--top", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "1 host for 'hydrogn valleys' (visitor in DE)"
    assert lines[1].startswith(" 1. Hydrogen Valley Portugal (Porto, PT) · score ")
    assert lines[2] == "    because: hydrogen (for hydrogn), valley (for valleys)"


@pytest.mark.parametrize("objectives, words", [
    ("   ", "error: describe in a few words what the visitor wants to learn or do at the host"),
    ("qwxz blorf vvkk", "error: no host profile resembles 'qwxz blorf vvkk'"),
])
def test_match_explains_empty_and_nonsense_objectives(capsys, hosts_csv, objectives, words):
    assert main(["match", objectives, "--visitor-country", "DE", "--hosts", hosts_csv]) == 2
    assert capsys.readouterr().err.startswith(words)


def test_match_on_the_database_tells_a_visitor_who_travelled(capsys, demo_store):
    exchanges = demo_store.table("exchanges")
    travelled = exchanges.loc[exchanges["status"] == "paid", "visitor_id"].iloc[0]
    assert main(["match", "digital twins", "--visitor", travelled, "--db", str(demo_store.path)]) == 2
    assert capsys.readouterr().err.startswith("error: the visitor already has 1 approved or completed exchange")


def test_match_on_the_database_hosts(capsys, demo_store):
    assert main(["match", "medical devices and biotechnology", "--visitor-country", "PT", "--json",
                 "--db", str(demo_store.path)]) == 0
    suggestions = json.loads(capsys.readouterr().out)
    hosts = demo_store.organisations(OFFICER).set_index("id")
    assert len(suggestions) == 10
    assert all(hosts.at[s["id"], "can_host"] and hosts.at[s["id"], "country"] != "PT" for s in suggestions)
    assert all(set(s["reasons"]) & {"medical devices", "biotechnology"} for s in suggestions)


def test_match_takes_sectors_of_the_taxonomy(capsys, hosts_csv):
    assert main(["match", "", "--sector", "Food Processing and Manufacturing", "--hosts", hosts_csv,
                 "--top", "1", "--json"]) == 0
    best = json.loads(capsys.readouterr().out)[0]
    assert best["id"] == "food-fr"
    assert any(reason.startswith("Food Processing and Manufacturing") for reason in best["reasons"]), best["reasons"]
