"""Group missions on real DuckDB files: created by a partnership manager as one, each member's
exchange requested with its own host, lump sum and visit-once check (all or none); listed and
mapped as one, per viewer, against a pandas oracle."""

import datetime as dt

import pandas as pd
import pytest
from steps import agreed
from viewers import OFFICER, PLANNER, manager, organisation

from cx import charts, missions, summaries
from cx import io as cio
from cx.access import NotAllowed
from cx.exchanges import change_status
from cx.geo import country_shapes


@pytest.fixture
def plan(demo_store, rulebook):
    """Three visitors of P01 who may still visit, and three hosts in one country none of them is in."""
    orgs = demo_store.table("organisations")
    exchanges = demo_store.table("exchanges")
    fresh = orgs[orgs["can_visit"] & (orgs["partnership_id"] == "P01") & ~orgs["id"].isin(exchanges["visitor_id"])]
    country = next(c for c in ("PT", "ES", "IT", "FR", "PL") if (orgs["can_host"] & (orgs["country"] == c)).sum() >= 3
                   and not (fresh["country"] == c).all())
    visitors = fresh[fresh["country"] != country]["id"].head(3).tolist()
    hosts = missions.hosts_in(demo_store, country)["id"].head(3).tolist()
    start = rulebook.quiet_week(dt.date.today() + dt.timedelta(days=28))
    return {"members": list(zip(visitors, hosts)), "start": start, "end": start + dt.timedelta(days=2),
            "country": country}


def create(store, viewer, plan, **changes):
    arguments = dict(name="Mission to the textile region", partnership_id="P01", start=plan["start"], end=plan["end"],
                     members=plan["members"], agenda="Day 1: welcome. Day 2: visits. Day 3: B2B meetings.")
    return missions.create_mission(store, viewer, **{**arguments, **changes})


def test_a_manager_creates_a_mission_of_one_exchange_per_visitor(demo_store, plan, rulebook):
    mission = create(demo_store, manager("P01"), plan)
    exchanges = demo_store.table("exchanges")
    members = exchanges[exchanges["mission_id"] == mission].sort_values("visitor_id")
    assert sorted(zip(members["visitor_id"], members["host_id"])) == sorted(plan["members"])
    assert (members["status"] == "requested").all() and members["lump_sum_eur"].notna().all()
    assert (members["objectives"] == "Day 1: welcome. Day 2: visits. Day 3: B2B meetings.").all()
    stored = demo_store.table("missions").set_index("id").loc[mission]
    assert (stored["partnership_id"], stored["created_by"]) == ("P01", manager("P01").identity)
    # Each member goes through approval on its own (its host's answer and signatures, cx.agreement),
    # with the visit-once check of its visitor.
    agreed(demo_store, members["id"].iloc[0])
    change_status(demo_store, manager("P01"), members["id"].iloc[0], "approved")
    row = missions.missions(demo_store, OFFICER).set_index("mission_id").loc[mission]
    assert (row["visitors"], row["exchanges"]) == (3, 3)
    assert row["statuses"] == "1 approved, 2 requested"
    assert row["committed_eur"] == demo_store.table("exchanges").set_index("id").at[members["id"].iloc[0], "lump_sum_eur"]
    assert row["host_countries"] == plan["country"]


def test_a_mission_is_all_or_nothing_and_names_each_refused_member(demo_store, plan):
    before = demo_store.counts()
    exchanges = demo_store.table("exchanges")
    visited = exchanges[exchanges["status"] == "paid"].merge(
        demo_store.table("organisations"), left_on="visitor_id", right_on="id").query("partnership_id == 'P01'")
    taken = visited["visitor_id"].iloc[0]
    members = plan["members"][:2] + [(taken, plan["members"][2][1])]
    with pytest.raises(missions.MissionRefused, match=f"{taken} at {plan['members'][2][1]}: .*visit"):
        create(demo_store, manager("P01"), plan, members=members)
    with pytest.raises(missions.MissionRefused, match="comes twice"):
        create(demo_store, manager("P01"), plan, members=plan["members"] + [(plan["members"][0][0], plan["members"][1][1])])
    with pytest.raises(missions.MissionRefused, match="at least 2 visitors"):
        create(demo_store, manager("P01"), plan, members=plan["members"][:1])
    other = demo_store.table("organisations").query("partnership_id == 'P02' and can_visit")["id"].iloc[0]
    with pytest.raises(missions.MissionRefused, match=f"{other} is not a visitor of P01"):
        create(demo_store, OFFICER, plan, members=plan["members"][:2] + [(other, plan["members"][2][1])])
    with pytest.raises(missions.MissionRefused, match="needs a name"):
        create(demo_store, manager("P01"), plan, name=" ")
    assert demo_store.counts() == before


def test_only_the_partnerships_manager_or_an_officer_creates_one(demo_store, plan):
    for viewer in (manager("P02"), PLANNER, organisation(plan["members"][0][0])):
        with pytest.raises(NotAllowed, match="create a mission for the partnership P01"):
            create(demo_store, viewer, plan)
    assert create(demo_store, OFFICER, plan)


def test_missions_are_listed_once_per_viewer_against_a_pandas_oracle(demo_store, rulebook):
    exchanges = demo_store.table("exchanges").dropna(subset=["mission_id"])
    orgs = demo_store.table("organisations").set_index("id")
    going = exchanges[~exchanges["status"].isin(["rejected", "cancelled"])]
    expected = pd.DataFrame({
        "visitors": going.groupby("mission_id")["visitor_id"].nunique(),
        "hosts": going.groupby("mission_id")["host_id"].nunique(),
        "exchanges": exchanges.groupby("mission_id").size(),
        "committed_eur": exchanges[exchanges["status"].isin(rulebook.taken_statuses)]
        .groupby("mission_id")["lump_sum_eur"].sum(),
    }).fillna(0).astype("int64")
    listed = missions.missions(demo_store, OFFICER).set_index("mission_id")
    assert listed.index.is_unique and set(listed.index) == set(demo_store.table("missions")["id"])
    for column in expected:
        assert listed.loc[expected.index, column].astype("int64").tolist() == expected[column].tolist(), column
    assert missions.missions(demo_store, PLANNER).equals(missions.missions(demo_store, OFFICER))

    partnership_of = orgs["partnership_id"]
    theirs = set(demo_store.table("missions").query("partnership_id == 'P02'")["id"]) | set(
        exchanges.loc[exchanges["visitor_id"].map(partnership_of).eq("P02")
                      | exchanges["host_id"].map(partnership_of).eq("P02"), "mission_id"])
    assert set(missions.missions(demo_store, manager("P02"))["mission_id"]) == theirs
    member = exchanges["visitor_id"].iloc[0]
    own = set(exchanges.loc[(exchanges["visitor_id"] == member) | (exchanges["host_id"] == member), "mission_id"])
    assert set(missions.missions(demo_store, organisation(member))["mission_id"]) == own
    some = listed.iloc[len(listed) // 2]
    during = missions.missions(demo_store, OFFICER, start=some["start_date"], end=some["start_date"])
    assert some.name in set(during["mission_id"]) and len(during) < len(listed)


def test_the_mission_map_draws_each_mission_once(demo_store):
    table = missions.missions(demo_store, OFFICER).dropna(subset=list(missions.PLACE_COLUMNS))
    figure = charts.mission_map(table, country_shapes())
    markers = next(trace for trace in figure.data if trace.name == "missions (hosts' region)")
    assert len(markers.lat) == len(table)
    arcs = next(trace for trace in figure.data if trace.name == "from the visitors' places")
    assert sum(value is None for value in arcs.lat) == len(table)
    sentence = summaries.mission_map(table)
    assert sentence.startswith(f"{len(table):,} group missions taking {int(table['visitors'].sum()):,} visitors")


def test_imports_name_an_unknown_mission_and_an_unknown_choice_of_readers(demo_store, plan):
    mission = create(demo_store, OFFICER, plan)
    exchanges = demo_store.table("exchanges").query(f"mission_id == '{mission}'")
    rows = cio.export_frame(demo_store, OFFICER, "exchanges", ids=exchanges["id"].tolist())
    rows.loc[0, "mission_id"] = "M-nowhere"
    report = cio.import_file(demo_store, OFFICER, "exchanges", rows.to_csv(index=False).encode(), "x.csv")
    assert not report.written
    assert report.findings[["row", "column", "rule"]].values.tolist() == [[2, "mission_id", "missing_mission"]]
    assert "there is no group mission 'M-nowhere' in cx" in report.findings["message"].iloc[0]
    organisations = cio.export_frame(demo_store, OFFICER, "organisations").head(2)
    organisations.loc[1, "looking_for_shown_to"] = "friends"
    report = cio.import_file(demo_store, OFFICER, "organisations", organisations.to_csv(index=False).encode(), "o.csv")
    assert report.findings[["row", "column", "rule"]].values.tolist() == [[3, "looking_for_shown_to", "shown_to"]]
    assert report.findings["message"].iloc[0].startswith("'friends' is not a choice of which hosts read looking_for")


def test_missions_import_with_row_numbered_errors_and_for_ones_own_partnership_only(demo_store):
    header = "id,name,partnership_id,start_date,end_date,agenda\n"
    rows = (header + "M-A,Mission A,P01,2026-09-07,2026-09-09,Day 1: visits.\n"
            "M-B,Mission B,P09X,2026-09-07,2026-09-09,\nM-C,Mission C,P01,2026-09-09,2026-09-07,\n"
            "M-D,Mission D,P02,2026-09-07,2026-09-09,\n").encode()
    report = cio.import_file(demo_store, manager("P01"), "missions", rows, "missions.csv", mode="valid")
    assert sorted(zip(report.findings["row"], report.findings["column"], report.findings["rule"])) == [
        (3, "partnership_id", "missing_partnership"), (3, "partnership_id", "not_your_partnership"),
        (4, "end_date", "end_before_start"), (5, "partnership_id", "not_your_partnership")]
    stored = demo_store.table("missions").set_index("id")
    assert stored.at["M-A", "created_by"] == f"{manager('P01').identity} (import of missions.csv)"
    assert not {"M-B", "M-C", "M-D"} & set(stored.index)
    exported = cio.export_frame(demo_store, manager("P01"), "missions")
    assert "M-A" in set(exported["id"])  # and the others it sees: its own, and those its members travel in
    assert set(exported["id"]) == set(missions.missions(demo_store, manager("P01"))["mission_id"])
