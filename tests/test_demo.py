"""The demo programme is realistic: it obeys the rules, apart from the deliberate breaks."""

import pandas as pd
import pytest

from conftest import DEMO_DAY
from cx import todo
from cx.demo import demo_now, generate
from cx.geo import gazetteer
from cx.store import ORGANISATION_KINDS, STATUSES
from viewers import OFFICER, manager


def test_demo_is_reproducible_and_realistic(demo_store, rulebook):
    orgs, exchanges = demo_store.organisations(OFFICER), demo_store.exchanges(OFFICER)
    assert set(orgs["kind"]) == set(ORGANISATION_KINDS)
    assert set(orgs["country"]) <= set(rulebook.eligible_countries)
    assert orgs["country"].nunique() >= 25
    assert set(exchanges["status"]) == set(STATUSES)
    assert exchanges["start_date"].min() < pd.Timestamp("2021-01-01")
    assert (orgs["description"].str.len() > 80).all()

    # Real places: every placed organisation sits where the gazetteer puts its city.
    placed = orgs.dropna(subset=["lat"])
    lat, _ = gazetteer().locate_many(placed["city"], placed["country"])
    assert (abs(lat - placed["lat"]) < 1e-6).all()


def test_demo_obeys_the_rules_but_for_a_handful(demo_store, rulebook):
    exchanges = demo_store.exchanges(OFFICER)
    frame = exchanges.assign(start=exchanges["start_date"], end=exchanges["end_date"])
    broken = rulebook.check_exchanges(frame)
    assert 1 <= broken["row"].nunique() <= 5
    assert set(broken["rule"]) == {"same_country", "too_short"}
    recomputed = rulebook.lump_sums(frame)
    differ = (recomputed["lump_sum_eur"] != exchanges["lump_sum_eur"]).sum()
    assert 1 <= differ <= 4  # the deliberate wrong lump sums (and the shortened stay)
    taken = exchanges[exchanges["status"].isin(rulebook.taken_statuses)]
    assert taken["visitor_id"].duplicated().sum() == 1
    assert demo_store.organisations(OFFICER)["lat"].isna().sum() == 2


def test_the_same_seed_gives_the_same_programme():
    first, second = generate(seed=3, organisation_count=120, exchange_count=60), generate(seed=3, organisation_count=120, exchange_count=60)
    for name in first:
        pd.testing.assert_frame_equal(first[name], second[name])


@pytest.mark.slow
def test_the_full_size_demo_breaks_only_the_deliberate_rules(rulebook):
    tables = generate(seed=7, today=DEMO_DAY)
    exchanges = tables["exchanges"].merge(
        tables["organisations"][["id", "country"]].add_prefix("visitor_"), on="visitor_id").merge(
        tables["organisations"][["id", "country"]].add_prefix("host_"), on="host_id")
    broken = rulebook.check_exchanges(exchanges.assign(start=exchanges["start_date"], end=exchanges["end_date"]))
    assert set(broken["rule"]) == {"same_country", "too_short"}
    assert len(broken) == 2


@pytest.mark.parametrize("backend", ["duckdb", "postgres"], indirect=True)
def test_the_demo_history_has_the_steps_its_statuses_passed(demo_store):
    """Every exchange approved once has the host's answer, an agenda and six signatures, all
    before its approval; a reported one a closing report; a paid one a validated report and the
    payment of its lump sum on the day it was paid. A manager has reports to validate."""
    exchanges = demo_store.table("exchanges").set_index("id")
    at = demo_store.table("exchange_events").pivot(index="exchange_id", columns="to_status", values="changed_at")
    approved = set(at.index[at["approved"].notna()])
    assert approved == set(exchanges.index[exchanges["status"].isin(
        ["approved", "ongoing", "completed", "reported", "paid", "cancelled"])])

    answers = demo_store.table("host_answers").set_index("exchange_id")
    assert set(answers.index) == approved and set(answers["answer"]) == {"accepted"}
    answered = answers["answered_at"]
    assert ((at.loc[answered.index, "requested"] < answered) & (answered < at.loc[answered.index, "approved"])).all()

    signatures = demo_store.table("signatures")
    assert set(signatures["exchange_id"]) == approved
    assert (signatures.groupby("exchange_id").size() == 6).all()
    signed = signatures.set_index("exchange_id")
    assert (answered.reindex(signed.index) < signed["signed_at"]).all()
    assert (signed["signed_at"] < at["approved"].reindex(signed.index)).all()

    agenda = demo_store.table("agenda_days").join(exchanges[["start_date", "end_date"]], on="exchange_id")
    assert set(agenda["exchange_id"]) == approved
    assert agenda["day"].between(agenda["start_date"], agenda["end_date"]).all()

    reports = demo_store.table("closing_reports").join(exchanges["status"], on="exchange_id")
    assert set(reports["exchange_id"]) == set(exchanges.index[exchanges["status"].isin(["reported", "paid"])])
    assert set(reports.loc[reports["status"] == "paid", "state"]) == {"validated"}
    assert set(reports.loc[reports["status"] == "reported", "state"]) == {"filed", "validated"}

    payments = demo_store.table("payments").set_index("exchange_id")
    paid = exchanges[exchanges["status"] == "paid"]
    assert set(payments.index) == set(paid.index)
    assert (payments["amount_eur"] == paid["lump_sum_eur"].reindex(payments.index)).all()
    assert (pd.to_datetime(payments["paid_on"]) == at["paid"].reindex(payments.index).dt.normalize()).all()

    now = demo_now(DEMO_DAY)  # the history ends before its today's work: nothing is dated later
    for moments in (at.stack(), answered, signed["signed_at"], reports["filed_at"], reports["decided_at"].dropna(),
                    payments["recorded_at"], exchanges["updated_at"], exchanges["created_at"]):
        assert pd.to_datetime(moments).max() <= now
    trail = demo_store.table("exchange_events").sort_values(["exchange_id", "changed_at"], kind="stable")
    went_on_from = trail.groupby("exchange_id")["to_status"].shift()  # in time order, each step follows the last
    assert (trail["from_status"].fillna("") == went_on_from.fillna("")).all()
    assert trail.duplicated(["exchange_id", "changed_at"]).sum() == 0

    # Reports wait for validation and, filed lately, some for their payment, each on its partnership's list.
    visitors = demo_store.table("organisations").set_index("id")["partnership_id"]
    reports["partnership"] = reports["exchange_id"].map(exchanges["visitor_id"]).map(visitors)
    waiting = pd.concat([todo.waiting_on(demo_store, manager(p), today=DEMO_DAY).assign(partnership=p)
                         for p in sorted(set(visitors))])
    for step, state in (("validate the closing report", "filed"), ("record the payment", "validated")):
        expected = reports.loc[(reports["status"] == "reported") & (reports["state"] == state), ["partnership", "exchange_id"]]
        listed = waiting.loc[waiting["step"] == step, ["partnership", "exchange_id"]]
        assert len(expected) and set(map(tuple, listed.to_numpy())) == set(map(tuple, expected.to_numpy()))
    assert not waiting["step"].str.startswith("sign the").any()
    unpaid = reports[(reports["status"] == "reported") & (reports["state"] == "validated")]
    assert (pd.to_datetime(unpaid["filed_at"]) > now - pd.Timedelta(days=30)).all()  # not waiting for years
