"""Registration: a person without an account registers their organisation through a partnership;
the rulebook's checks name each broken rule; the partnership's managers (or an officer) accept
or refuse it, scoped to their partnerships; on acceptance the person's login is the organisation's
account. The pages per state, logged in through `[auth]` as the provider would."""

import dataclasses

import pytest
import test_roles
from viewers import OFFICER, PLANNER, manager, organisation

from cx import accounts, registrations
from cx import io as cio
from cx.access import NotAllowed
from cx.errors import BrokenRules, CxError
from cx.registrations import Registration
from cx.store import TEXT_LIMITS, Store

PORTO = Registration(partnership_id="P01", name="Porto Digital", kind="cluster organisation", country="PT",
                     city="Porto", contact_name="Ana Silva", contact_email="ana@example.org",
                     ecosystems=("Digital",), motivation="Meet cybersecurity clusters.")


def rules_broken(store, registration, login="ana@example.org"):
    with pytest.raises(BrokenRules) as refusal:
        registrations.submit(store, login, registration)
    assert not len(store.table("registrations"))
    return {b.rule: b.message for b in refusal.value.breaches}


@pytest.mark.parametrize("changes, rule, message", [
    ({"kind": "SME"}, "not_a_member", "an organisation of kind 'SME' visits only as a member of a cluster "
                                      "organisation: name the cluster, or register to host only (accepted case by case)"),
    ({"kind": "scaling-up support organisation", "can_visit": False}, "not_a_member",
     "an organisation of kind 'scaling-up support organisation' takes part as a member of a cluster organisation: "
     "name the cluster"),
    ({"kind": "other", "member_of": "Cluster X"}, "host_only", "an organisation of kind 'other' may host but not visit"),
    ({"country": "CH", "city": "Zurich"}, "ineligible_country",
     "the country CH (Switzerland) does not take part in ClusterXchange pilot (COSME)"),
    ({"country": "QQ"}, "unknown_country", "'QQ' is not a country code cx knows (use ISO-2 codes such as DE, PT, XK)"),
    ({"city": "Portoo"}, "unknown_city", "cannot place the city 'Portoo' in PT; did you mean Porto"),
    ({"can_visit": False, "can_host": False}, "no_role",
     "an organisation takes part as a visitor, a host or both; choose one"),
    ({"contact_email": "ana@example"}, "email", "'ana@example' is not an e-mail address"),
    ({"name": " "}, "required", "The organisation's name is missing"),
    ({"partnership_id": "P99"}, "missing_partnership", "there is no partnership 'P99' to register through"),
    ({"ecosystems": ("Digitl",)}, "ecosystem", "Digitl is not one of the 14 industrial ecosystems"),
])
def test_each_broken_rule_is_named_and_nothing_is_stored(demo_store, changes, rule, message):
    found = rules_broken(demo_store, dataclasses.replace(PORTO, **changes))
    assert found[rule].startswith(message)


def test_a_non_member_sme_may_register_to_host_only(demo_store):
    number = registrations.submit(demo_store, "ana@example.org",
                                  dataclasses.replace(PORTO, kind="SME", can_visit=False))
    assert registrations.registration_of(demo_store, "ANA@example.org")["id"] == number


def test_one_registration_waits_at_a_time_and_an_account_holder_does_not_register(demo_store):
    registrations.submit(demo_store, "ana@example.org", PORTO)
    assert "waiting" in rules_broken_after(demo_store, PORTO, "ana@example.org")
    accounts.add_account(demo_store, OFFICER, "bea@example.org", "planner")
    assert "has_account" in rules_broken_after(demo_store, PORTO, "bea@example.org")


def rules_broken_after(store, registration, login):
    before = len(store.table("registrations"))
    with pytest.raises(BrokenRules) as refusal:
        registrations.submit(store, login, registration)
    assert len(store.table("registrations")) == before
    return {b.rule for b in refusal.value.breaches}


def test_managers_see_and_decide_only_their_partnerships_registrations(demo_store):
    number = registrations.submit(demo_store, "ana@example.org", PORTO)
    registrations.submit(demo_store, "bo@example.org", dataclasses.replace(PORTO, partnership_id="P02", name="Bo"))
    assert registrations.registrations(demo_store, manager("P01"))["name"].tolist() == ["Porto Digital"]
    assert registrations.registrations(demo_store, manager("P02"))["name"].tolist() == ["Bo"]
    assert len(registrations.registrations(demo_store, OFFICER)) == 2
    with pytest.raises(registrations.UnknownRegistration):
        registrations.decide(demo_store, manager("P02"), number, accept=True)
    for outsider in (PLANNER, organisation("O00001")):
        with pytest.raises(NotAllowed):
            registrations.registrations(demo_store, outsider)
        with pytest.raises(NotAllowed):
            registrations.decide(demo_store, outsider, number, accept=True)
    assert registrations.registration_of(demo_store, "ana@example.org")["state"] == "pending"
    assert accounts.viewer_for(demo_store, "ana@example.org") is None


def test_acceptance_makes_the_organisation_and_its_account_in_one_step(demo_store):
    number = registrations.submit(demo_store, "ana@example.org", PORTO)
    organisation_id = registrations.decide(demo_store, manager("P01"), number, accept=True)
    made = demo_store.table("organisations").set_index("id").loc[organisation_id]
    assert (made["name"], made["partnership_id"], made["country"], list(made["ecosystems"])) == (
        "Porto Digital", "P01", "PT", ["Digital"])
    assert made["lat"] == pytest.approx(41.15, abs=0.05)
    viewer = accounts.viewer_for(demo_store, "ana@example.org")
    assert (viewer.role, viewer.organisation) == ("organisation", organisation_id)
    decided = registrations.registration_of(demo_store, "ana@example.org")
    assert (decided["state"], decided["decided_by"]) == ("accepted", manager("P01").identity)
    with pytest.raises(CxError, match=f"registration {number} was already accepted by"):
        registrations.decide(demo_store, OFFICER, number, accept=False, reason="late")


def test_an_accepted_member_keeps_its_cluster_as_an_import_would_read_it(demo_store):
    sme = dataclasses.replace(PORTO, kind="SME", member_of="Porto Tech Cluster")
    organisation_id = registrations.decide(demo_store, manager("P01"),
                                           registrations.submit(demo_store, "ana@example.org", sme), accept=True)
    made = cio.export_frame(demo_store, OFFICER, "organisations").set_index("id").loc[organisation_id]
    assert (made["kind"], made["member_of"]) == ("SME", "Porto Tech Cluster")


def test_a_refusal_needs_a_reason_and_the_person_may_register_again(demo_store):
    number = registrations.submit(demo_store, "ana@example.org", PORTO)
    with pytest.raises(CxError, match="a refusal needs a reason"):
        registrations.decide(demo_store, manager("P01"), number, accept=False, reason="  ")
    assert registrations.decide(demo_store, manager("P01"), number, accept=False, reason="Not a cluster.") is None
    refused = registrations.registration_of(demo_store, "ana@example.org")
    assert (refused["state"], refused["reason"]) == ("refused", "Not a cluster.")
    assert accounts.viewer_for(demo_store, "ana@example.org") is None
    again = registrations.submit(demo_store, "ana@example.org", PORTO)
    assert again != number and registrations.registration_of(demo_store, "ana@example.org")["state"] == "pending"


# --- the pages, per state --------------------------------------------------------------------

@pytest.fixture
def app_store(app_db):
    store = Store(app_db)
    accounts.add_account(store, OFFICER, "olga@example.org", "officer")
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, OFFICER, "lena@example.org", "partnership_manager", partnerships=["P02"])
    return store


def fill(app, registration):
    app.selectbox(key="registration_partnership").set_value(registration.partnership_id)
    app.text_input(key="registration_name").input(registration.name)
    app.selectbox(key="registration_kind").set_value(registration.kind)
    app.text_input(key="registration_member_of").input(registration.member_of)
    app.selectbox(key="registration_country").set_value(registration.country)
    app.text_input(key="registration_city").input(registration.city)
    app.multiselect(key="registration_ecosystems").set_value(list(registration.ecosystems))
    app.text_area(key="registration_motivation").input(registration.motivation)
    app.text_input(key="registration_contact_name").input(registration.contact_name)
    app.text_input(key="registration_contact_email").input(registration.contact_email)
    return app.button(key="registration_submit").click().run()


def test_without_an_account_the_form_registers_and_then_shows_it_waiting(app_store):
    app = test_roles.logged_in("ana@example.org").run()
    assert not app.exception
    assert app.title[0].value == "Register your organisation"
    assert app.text[-1].value == "Questions? Ask a programme officer: olga@example.org."
    assert not app.metric and not app.dataframe
    assert app.text_input(key="registration_contact_email").value == "ana@example.org"
    assert app.text_area(key="registration_motivation").proto.max_chars == TEXT_LIMITS["motivation"]
    app = fill(app, dataclasses.replace(PORTO, kind="SME"))
    assert not app.exception
    assert "an organisation of kind 'SME' visits only as a member of a cluster organisation" in app.error[0].value
    assert not len(app_store.table("registrations"))
    app = fill(app, dataclasses.replace(PORTO, kind="SME", member_of="Porto Tech Cluster"))
    assert not app.exception
    assert app.title[0].value == "Your registration is waiting"
    assert app.success[0].value == "Registration sent to partnership P01."
    stored = registrations.registration_of(app_store, "ana@example.org")
    assert (stored["member_of"], stored["kind"], stored["motivation"]) == (
        "Porto Tech Cluster", "SME", "Meet cybersecurity clusters.")
    app.switch_page("app_pages/home.py").run()
    assert app.title[0].value == "Your registration is waiting" and not app.metric


def test_a_refused_registration_shows_the_reason_and_the_form_again(app_store):
    number = registrations.submit(app_store, "ana@example.org", PORTO)
    registrations.decide(app_store, manager("P01"), number, accept=False, reason="Register through P02 instead.")
    app = test_roles.logged_in("ana@example.org").run()
    assert not app.exception
    assert app.title[0].value == "Register your organisation"
    assert app.warning[0].value.endswith("was refused by manager.p01@example.org: Register through P02 instead.")
    assert app.text_input(key="registration_name").value == "Porto Digital"


def test_an_accepted_registration_logs_in_as_the_organisation(app_store):
    number = registrations.submit(app_store, "ana@example.org", PORTO)
    registrations.decide(app_store, OFFICER, number, accept=True)
    app = test_roles.logged_in("ana@example.org").run()
    assert not app.exception
    assert app.title[0].value == "Porto Digital"
    assert app.text_input(key="profile_contact_email").value == "ana@example.org"


def test_the_manager_accepts_and_refuses_on_the_registrations_page(app_store):
    registrations.submit(app_store, "ana@example.org", PORTO)
    registrations.submit(app_store, "bo@example.org", dataclasses.replace(PORTO, name="Bo *Cluster*",
                                                                          contact_email="bo@example.org"))
    registrations.submit(app_store, "cy@example.org", dataclasses.replace(PORTO, partnership_id="P02", name="Cy"))
    app = test_roles.logged_in("mario@example.org").run()
    app.switch_page("app_pages/registrations.py").run()
    assert not app.exception
    assert app.dataframe[0].value["name"].tolist() == ["Porto Digital", "Bo *Cluster*"]
    app.button(key="registration_accept").click().run()
    assert not app.exception
    assert app.success[0].value.startswith("Porto Digital is registered as O-")
    assert accounts.viewer_for(app_store, "ana@example.org").role == "organisation"
    assert any(t.value.startswith("Bo *Cluster* · cluster organisation") for t in app.text)  # typed text as text
    app.button(key="registration_refuse").click().run()
    assert "Not refused: a refusal needs a reason" in app.error[0].value
    app.text_input(key="registration_reason").input("Duplicate of Porto Digital.")
    app.button(key="registration_refuse").click().run()
    assert not app.exception
    assert app.info[0].value == "No registration is waiting for your decision."
    assert app.dataframe[0].value["state"].tolist() == ["accepted", "refused"]
    assert registrations.registration_of(app_store, "cy@example.org")["state"] == "pending"


def test_a_manager_s_home_says_which_registrations_wait_and_leads_to_them(app_store):
    registrations.submit(app_store, "ana@example.org", PORTO)
    registrations.submit(app_store, "bo@example.org", dataclasses.replace(PORTO, name="Bo", contact_email="bo@example.org"))
    registrations.submit(app_store, "cy@example.org", dataclasses.replace(PORTO, partnership_id="P02", name="Cy"))
    said = {}
    for login in ("mario@example.org", "lena@example.org", "olga@example.org"):
        app = test_roles.logged_in(login).run()
        assert not app.exception
        said[login] = [t.value for t in app.text if "registration" in t.value]
        assert [link.proto.label for link in app.get("page_link") if link.proto.page == "registrations"] == [
            "Decide on registrations"]
    assert said == {"mario@example.org": ["2 registrations wait for your decision; the oldest for 0 days."],
                    "lena@example.org": ["1 registration waits for your decision; the oldest for 0 days."],
                    "olga@example.org": ["3 registrations wait for your decision; the oldest for 0 days."]}
    registrations.decide(app_store, manager("P02"), registrations.registration_of(app_store, "cy@example.org")["id"],
                         accept=False, reason="Not a cluster.")
    app = test_roles.logged_in("lena@example.org").run()
    assert not [t.value for t in app.text if "registration" in t.value] and not app.get("page_link")
