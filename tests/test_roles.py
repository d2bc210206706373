"""The app per role, logged in through `[auth]` (AppTest.user seeded as the provider would): the
navigation lists the role's pages only, and each page shows what the role may see. Without
`[auth]` the app is the local officer's and says so; served beyond this machine without it, it
refuses."""

import re
import subprocess
import sys

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest
from viewers import OFFICER

from cx import PROJECT_ROOT, accounts
from cx.store import Store
from cx.ui import plain
from cx.ui.login import LOCAL_NOTE
from cx.ui.widgets import UPTAKE_TAB

APP = str(PROJECT_ROOT / "app.py")
AUTH = {"auth": {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "test-cookie-secret",
                 "client_id": "cx", "client_secret": "secret", "server_metadata_url":
                     "http://127.0.0.1:9/.well-known/openid-configuration"}}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def logged_in(email: str | None) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.secrets = AUTH
    app.user = {"is_logged_in": False} if email is None else {"is_logged_in": True, "email": email, "sub": email}
    return app


def shown_text(app: AppTest) -> str:
    """Everything a page shows as text: titles, text, captions, inputs, tables and options."""
    parts = [e.value for kind in ("title", "markdown", "caption", "text", "info", "success", "error")
             for e in getattr(app, kind)]
    parts += [str(e.value) for e in app.text_input] + [str(e.value) for e in app.text_area]
    parts += [str(o) for e in app.selectbox for o in e.options]
    parts += [e.value.to_csv() for e in app.dataframe]
    return "\n".join(str(p) for p in parts)


@pytest.fixture(params=["duckdb", "postgres"])
def people(request, monkeypatch):
    """An account per role on the demo programme, in a DuckDB file or in PostgreSQL (the app as
    `cx_app` under row-level security); returns the member organisation and the store."""
    if request.param == "postgres":
        from conftest import _shared_for_the_test

        templates = request.getfixturevalue("postgres_templates")
        store = _shared_for_the_test(request, request.getfixturevalue("postgres_database")(templates["cx_demo"]))
        monkeypatch.setenv("CX_DB", store.url)
        monkeypatch.setenv("CX_DB_OWNER", store.owner)
    else:
        store = Store(request.getfixturevalue("app_db"))
    organisations = store.table("organisations")
    member = organisations[organisations["partnership_id"] == "P01"].iloc[0]
    accounts.add_account(store, OFFICER, "olga@example.org", "officer")
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    accounts.add_account(store, OFFICER, "org@example.org", "organisation", organisation_id=member["id"])
    accounts.add_account(store, OFFICER, "pia@example.org", "planner")
    return {"organisation": member, "store": store}


def test_without_auth_the_local_officer_is_told_so_on_every_page(app_db):
    app = AppTest.from_file(APP, default_timeout=120).run()
    assert not app.exception
    assert app.caption[0].value == LOCAL_NOTE
    app.switch_page("app_pages/accounts.py").run()
    assert not app.exception and app.caption[0].value == LOCAL_NOTE and app.title[0].value == "Accounts"


def test_served_beyond_this_machine_without_auth_every_page_refuses(app_db):
    configured = config.get_option("server.address")  # .streamlit/config.toml: localhost
    config.set_option("server.address", "0.0.0.0")
    try:
        app = AppTest.from_file(APP, default_timeout=120).run()
    finally:
        config.set_option("server.address", configured)
    assert not app.exception
    assert app.error[0].value.startswith("cx will not serve 0.0.0.0 without logins")
    assert not app.title and not app.metric


def test_the_serve_command_refuses_a_public_address_without_auth(tmp_path):
    result = subprocess.run([sys.executable, "-m", "cx", "serve", "--address", "0.0.0.0", "--db",
                             str(tmp_path / "x.duckdb")], cwd=tmp_path, capture_output=True, text=True,
                            env={"PYTHONPATH": str(PROJECT_ROOT), "HOME": str(tmp_path)})
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("error: cx will not serve 0.0.0.0 without logins: anyone reaching that "
                                    "address would act as the officer.")


def test_logged_out_sees_only_the_login(people):
    app = logged_in(None).run()
    assert not app.exception
    assert app.button(key="login").label == "Log in"
    assert not app.metric and not app.dataframe


def test_logged_in_without_an_account_sees_the_registration_and_whom_to_ask_and_nothing_else(people):
    app = logged_in("stranger@example.org").run()
    assert not app.exception
    assert app.title[0].value == "Register your organisation"
    assert [t.value for t in app.text] == [
        "You are logged in as stranger@example.org, but cx has no account for you. Register your organisation "
        "through a partnership; its managers will accept or refuse it.",
        "Questions? Ask a programme officer: olga@example.org."]
    assert not app.metric and not app.dataframe
    app.switch_page("app_pages/home.py").run()
    assert app.title[0].value == "Register your organisation" and not app.metric


def test_the_officer_sees_every_page_and_manages_accounts(people):
    app = logged_in("olga@example.org").run()
    assert not app.exception
    assert app.text[0].value == "Logged in as olga@example.org · officer"
    app.switch_page("app_pages/accounts.py").run()
    assert not app.exception
    assert set(app.dataframe[0].value["login"]) == {"olga@example.org", "mario@example.org", "org@example.org",
                                                   "pia@example.org"}


def test_a_partnership_manager_works_on_their_partnership(people):
    app = logged_in("mario@example.org").run()
    assert app.text[0].value == "Logged in as mario@example.org · partnership manager of P01"
    with pytest.raises(ValueError):
        app.switch_page("app_pages/accounts.py")
    app.switch_page("app_pages/exchanges.py").run()
    assert not app.exception
    assert app.selectbox(key="manager_partnership").options == ["P01 · " + people["store"].partnerships()
                                                                  .set_index("id").at["P01", "name"]]
    app.switch_page("app_pages/data.py").run()
    assert not app.exception
    assert app.selectbox(key="import_kind").options == ["Organisations", "Missions", "Exchanges"]
    app.switch_page("app_pages/uptake.py").run()
    assert not app.exception
    assert app.multiselect(key="partnership").value == ["P01"]
    app.switch_page("app_pages/find_a_host.py").run()
    store = people["store"]
    theirs = store.table("organisations").query("partnership_id == 'P01' and can_visit")
    shown = len(app.selectbox(key="visitor").options)  # the picker offers 50 at a time
    assert shown == min(50, len(theirs)) and any(f"of {len(theirs):,} visiting organisations shown" in c.value
                                                 for c in app.caption)


def test_an_organisation_sees_its_profile_and_no_one_else_s_contacts(people):
    member = people["organisation"]
    app = logged_in("org@example.org").run()
    assert not app.exception
    assert app.title[0].value == plain(member["name"])
    assert app.text_input(key="profile_contact_email").value == (member["contact_email"] or "")
    others = set(people["store"].table("organisations")["contact_email"].dropna()) - {member["contact_email"]}
    assert not others & set(EMAIL.findall(shown_text(app)))
    app.text_area(key="profile_description").input("We test cx's roles.")
    app.button(key="profile_save").click().run()
    assert app.success[0].value == "The profile is saved."
    assert people["store"].table("organisations").set_index("id").at[member["id"], "description"] == "We test cx's roles."
    app.switch_page("app_pages/find_a_host.py").run()
    assert not app.exception
    assert len(app.selectbox(key="visitor").options) == (1 if member["can_visit"] else 0)
    for page in ("home", "uptake", "data", "exchanges", "accounts", "budget"):
        with pytest.raises(ValueError):
            app.switch_page(f"app_pages/{page}.py")


def test_a_planner_sees_figures_and_scenarios_and_no_e_mail(people):
    app = logged_in("pia@example.org").run()
    assert not app.exception and app.metric
    every = set(people["store"].table("organisations")["contact_email"].dropna())
    for page in ("home", "uptake", "map", "budget"):
        app.switch_page(f"app_pages/{page}.py").run()
        assert not app.exception, page
        assert not every & set(EMAIL.findall(shown_text(app))), page
    app.switch_page("app_pages/uptake.py").run()
    app.session_state[UPTAKE_TAB] = "Data quality"
    app.run()
    assert any("the planner's role does not see" in info.value for info in app.info)
    for page in ("find_a_host", "data", "exchanges", "accounts"):
        with pytest.raises(ValueError):
            app.switch_page(f"app_pages/{page}.py")


def _pages_of_each_role() -> dict[str, list[str]]:
    """app.py's navigation: each role's page files."""
    text = (PROJECT_ROOT / "app.py").read_text()
    files = dict(re.findall(r'^(\w+) = st\.Page\("([^"]+)"', text, re.M))
    return {role.lower(): [files[name.strip()] for name in names.split(",")]
            for role, names in re.findall(r"^    (\w+): \[([^\]]+)\],", text, re.M)}


@pytest.mark.parametrize("role, email", [("officer", "olga@example.org"), ("manager", "mario@example.org"),
                                         ("organisation", "org@example.org"), ("planner", "pia@example.org")])
def test_every_page_of_every_role_runs(people, role, email):
    """Each role's every page, as it logs in (on PostgreSQL: every query under its scope)."""
    pages = _pages_of_each_role()[role]
    assert len(pages) >= 4
    app = logged_in(email).run()
    for page in pages:
        app.switch_page(page).run()
        assert not app.exception, (page, app.exception)
