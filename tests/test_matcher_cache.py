"""The host matcher follows the hosts' profiles, not the database file: kept in memory, updated for
changed profiles, saved beside the database and loaded after a restart, never from a stale file."""

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from cx import matcher_cache
from cx.budget import Scenario, save_scenario
from cx.cli import main
from cx.exchanges import change_status, request_exchange
from cx.io import export_bytes, export_frame, import_file
from cx.matcher_cache import Keeper, fingerprint, matcher_path
from cx.matching import HostMatcher
from cx.store import Store
from cx.visitors import visitor_choices
from viewers import OFFICER

QUERIES = ["medical devices and biotechnology", "hydrogen valleys", "digital twins for manufacturing"]


def suggestions(matcher, objectives, country="PT"):
    return matcher.suggest(objectives, visitor_country=country, k=10)


@pytest.fixture
def keeper(demo_store):
    keeper = Keeper(demo_store)
    keeper.matcher()
    keeper.wait()  # the first matcher is saved in the background
    return keeper


def a_host_and_another(store):
    """Two hosts in eligible countries other than Portugal (the visitor's country in the searches)."""
    hosts = store.organisations(OFFICER)
    hosts = hosts[hosts["can_host"] & ~hosts["country"].isin(["PT"]) & hosts["description"].notna()]
    return hosts.iloc[0], hosts.iloc[-1]


def edit(store, host_id, **columns):
    with store.transaction() as con:
        for column, value in columns.items():
            con.execute(f'UPDATE organisations SET "{column}" = ? WHERE id = ?', [value, host_id])


def test_requests_status_changes_imports_and_scenarios_never_refit(demo_store, keeper):
    matcher = keeper.matcher()
    before = fingerprint(demo_store)
    free = visitor_choices(demo_store, OFFICER).query("taken == 0").index
    visitor = demo_store.organisations(OFFICER).set_index("id", drop=False).loc[free[0]]
    host = suggestions(matcher, "tourism and hospitality", visitor["country"]).iloc[0]
    exchange_id = request_exchange(demo_store, OFFICER, visitor_id=visitor["id"], host_id=host["id"],
                                   start=dt.date(2027, 3, 1), end=dt.date(2027, 3, 5))
    change_status(demo_store, OFFICER, exchange_id, "rejected")
    exchanges = export_frame(demo_store, OFFICER, "exchanges").head(5).assign(objectives="Learn about wine tourism.")
    name, data = export_bytes({"exchanges": exchanges}, "csv")
    import_file(demo_store, OFFICER, "exchanges", data, name)
    assert (demo_store.table("exchanges")["objectives"] == "Learn about wine tourism.").sum() == 5
    assert len(demo_store.table("scenarios")) == 0
    save_scenario(demo_store, Scenario(name="spring", envelope_eur=100_000, exchanges=100, host_mix={"PT": 1.0},
                                       working_days={5: 1.0}, distances_km={"PT": [800.0]}))
    assert len(demo_store.table("scenarios")) == 1
    edit(demo_store, visitor["id"], contact_email="someone.else@example.org", can_visit=False)
    assert fingerprint(demo_store) == before
    assert keeper.matcher() is matcher
    assert keeper.fits == 1


def test_the_profiles_are_read_again_only_after_a_write(demo_store, keeper, monkeypatch):
    """A search with no write since the last one costs a stat of the file, not a pass over every
    organisation; an edit from another connection is still seen by the next search."""
    reads = []
    monkeypatch.setattr(matcher_cache, "fingerprint", lambda store: reads.append(store) or fingerprint(store))
    matcher = keeper.matcher()
    assert keeper.matcher() is matcher and keeper.matcher() is matcher and not reads
    host, _ = a_host_and_another(demo_store)
    edit(Store(demo_store.path), host["id"], description="Seaweed farming and kelp biorefineries.")
    assert keeper.matcher() is not matcher
    assert keeper.matcher().suggest("kelp biorefineries", visitor_country="PT")["id"].iloc[0] == host["id"]
    assert len(reads) == 1


def test_a_profile_edit_is_seen_by_the_next_search_without_a_refit(demo_store, keeper):
    matcher = keeper.matcher()
    host, model = a_host_and_another(demo_store)
    objectives = model["description"]
    assert host["id"] not in suggestions(matcher, objectives)["id"].head(2).tolist()
    edit(demo_store, host["id"], name=model["name"], description=model["description"], sectors=model["sectors"],
         ecosystems=list(model["ecosystems"]))
    updated = keeper.matcher()
    assert updated is not matcher and keeper.fits == 1 and not updated.drifted()
    assert host["id"] in suggestions(updated, objectives)["id"].head(2).tolist()
    assert host["id"] not in suggestions(matcher, objectives)["id"].head(2).tolist()  # searches under way keep theirs


def test_new_and_removed_hosts_are_seen_by_the_next_search(demo_store, keeper):
    host, _ = a_host_and_another(demo_store)
    newcomer = demo_store.organisations(OFFICER).query("id == @host.id").assign(
        id="O-new", name="Kelp Farming Cluster", country="IE", city="Galway", lat=53.27, lon=-9.05,
        description="Seaweed and kelp farming, blue bioeconomy and algae processing.")
    with demo_store.transaction() as con:
        con.register("newcomer", newcomer)
        con.execute("INSERT INTO organisations SELECT * FROM newcomer")
        con.execute("DELETE FROM organisations WHERE id = ? AND id NOT IN "
                    "(SELECT visitor_id FROM exchanges UNION SELECT host_id FROM exchanges)", [host["id"]])
    removed = demo_store.query("SELECT count(*) AS n FROM organisations WHERE id = ?", [host["id"]])["n"][0] == 0
    updated = keeper.matcher()
    assert updated.drifted()  # 'kelp' and 'seaweed' are new words: a refit runs in the background
    assert "O-new" in suggestions(updated, "seaweed bioeconomy and algae processing")["id"].head(3).tolist()
    if removed:
        assert host["id"] not in updated.hosts_["id"].tolist()
    keeper.wait()
    refitted = keeper.matcher()
    assert keeper.fits == 2 and not refitted.drifted()
    assert suggestions(refitted, "kelp farming")["id"].iloc[0] == "O-new"
    assert refitted.hosts_["id"].tolist() == demo_store.organisations(OFFICER)["id"].tolist()


def test_the_saved_matcher_loads_after_a_restart_and_suggests_the_same(demo_store, keeper):
    assert matcher_path(demo_store).exists()
    restarted = Keeper(Store(demo_store.path))
    loaded = restarted.matcher()
    assert restarted.fits == 0
    for objectives in QUERIES:
        pd.testing.assert_frame_equal(suggestions(loaded, objectives), suggestions(keeper.matcher(), objectives))


def test_an_updated_matcher_is_saved_for_the_next_start(demo_store, keeper):
    host, model = a_host_and_another(demo_store)
    edit(demo_store, host["id"], description=model["description"])
    updated = keeper.matcher()
    keeper.wait()
    restarted = Keeper(Store(demo_store.path))
    pd.testing.assert_frame_equal(suggestions(restarted.matcher(), model["description"]),
                                  suggestions(updated, model["description"]))
    assert restarted.fits == 0


def test_a_stale_saved_matcher_is_not_used(demo_store, keeper):
    host, _ = a_host_and_another(demo_store)
    edit(demo_store, host["id"], description="Kelp farming and seaweed.")
    assert matcher_cache.load(demo_store, fingerprint(demo_store)) is None  # other profiles
    restarted = Keeper(Store(demo_store.path))
    assert suggestions(restarted.matcher(), "kelp farming")["id"].iloc[0] == host["id"]
    assert restarted.fits == 1


def rewrite_header(path, **changes):
    data = path.read_bytes()
    magic, rest = data[:len(matcher_cache.MAGIC)], data[len(matcher_cache.MAGIC):]
    line, payload = rest.split(b"\n", 1)
    header = json.loads(line) | changes
    path.write_bytes(magic + json.dumps(header).encode() + b"\n" + payload)


@pytest.mark.parametrize("changes", [{"recipe": "0" * 64}, {"sha256": "0" * 64}, {"fingerprint": "1:2"}])
def test_a_saved_matcher_of_another_version_or_damaged_is_not_used(demo_store, keeper, changes):
    current = fingerprint(demo_store)
    path = matcher_path(demo_store)
    assert matcher_cache.load(demo_store, current) is not None
    rewrite_header(path, **changes)
    assert matcher_cache.load(demo_store, current) is None
    restarted = Keeper(Store(demo_store.path))
    restarted.matcher()
    assert restarted.fits == 1


def test_a_file_that_is_not_a_saved_matcher_is_never_unpickled(demo_store):
    path = matcher_path(demo_store)
    header = {"recipe": matcher_cache.recipe(), "fingerprint": fingerprint(demo_store), "sha256": "0" * 64}
    path.write_bytes(matcher_cache.MAGIC + json.dumps(header).encode() + b"\nnot a pickle at all")
    assert matcher_cache.load(demo_store, fingerprint(demo_store)) is None
    path.write_bytes(b"\x80\x05 a pickle from elsewhere")
    assert matcher_cache.load(demo_store, fingerprint(demo_store)) is None


def test_cx_match_saves_the_matcher_and_loads_it_on_the_next_call(capsys, demo_store):
    arguments = ["match", QUERIES[0], "--visitor-country", "PT", "--json", "--db", str(demo_store.path)]
    assert main(arguments) == 0
    first = capsys.readouterr().out
    saved = matcher_path(demo_store).stat().st_mtime_ns
    visitor = demo_store.organisations(OFFICER).query("can_visit").iloc[0]
    edit(demo_store, visitor["id"], can_visit=False)  # not a profile column: the saved matcher still serves
    assert main(arguments) == 0
    assert capsys.readouterr().out == first
    assert matcher_path(demo_store).stat().st_mtime_ns == saved  # loaded, not refitted and saved again


def test_updated_rows_are_those_of_the_profiles_in_id_order():
    from tests.test_matching import HOSTS

    matcher = HostMatcher().fit(HOSTS.sort_values("id"))
    def rows_of(fitted):
        return sp.hstack([fitted.word_columns_, fitted.char_columns_], format="csr")

    rows = {host: rows_of(matcher)[i].toarray() for i, host in enumerate(matcher.hosts_["id"])}
    twin = HOSTS[HOSTS["id"] == "h2-pt"].assign(id="a-twin")  # sorts first: every row moves
    same = HOSTS[HOSTS["id"].isin(["wine-es", "food-fr"])]  # rewritten as they were
    updated = matcher.updated(pd.concat([twin, same]), removed=["mould-at"])
    assert updated.hosts_["id"].tolist() == sorted(set(HOSTS["id"]) - {"mould-at"} | {"a-twin"})
    for i, host in enumerate(updated.hosts_["id"]):
        np.testing.assert_allclose(rows_of(updated)[i].toarray(), rows["h2-pt" if host == "a-twin" else host],
                                   atol=1e-6)
        np.testing.assert_allclose(updated.word_rows_[i].toarray(),
                                   matcher.word_rows_[matcher.hosts_["id"].tolist().index(
                                       "h2-pt" if host == "a-twin" else host)].toarray(), atol=1e-6)
    assert updated.suggest("green hydrogen", visitor_country="DE")["id"].head(2).tolist() == ["a-twin", "h2-pt"]
    assert len(matcher.hosts_) == len(HOSTS)  # the matcher updated is left as it was
