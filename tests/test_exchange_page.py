"""The Exchange steps page per role (AppTest, logged in through `[auth]` as the provider would say):
each person sees the step that is theirs as a button, and only that; the path from the host's
answer to the payment runs through the page's buttons on a real DuckDB file of the template
programme (X2: O4 of P1 visits O3 of P2, requested)."""

import datetime as dt

import pytest
from steps import PDF
from test_access import O3, O4, P1, P2, X2
from test_roles import logged_in, shown_text
from viewers import OFFICER

from cx import accounts, agreement, closing
from cx import exchanges as workflow
from cx import io as cio
from cx.store import open_store

PAGE = "app_pages/exchange.py"
PEOPLE = {"host@example.org": ("organisation", {"organisation_id": O3}),
          "visitor@example.org": ("organisation", {"organisation_id": O4}),
          "p1@example.org": ("partnership_manager", {"partnerships": [P1]}),
          "p2@example.org": ("partnership_manager", {"partnerships": [P2]})}


@pytest.fixture
def programme(tmp_path, monkeypatch):
    store = open_store(tmp_path / "steps.duckdb")
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    for login, (role, scope) in PEOPLE.items():
        accounts.add_account(store, OFFICER, login, role, **scope)
    monkeypatch.setenv("CX_DB", str(store.path))
    return store


def steps_page(login):
    app = logged_in(login).run()
    assert not app.exception, app.exception
    app.switch_page(PAGE).run()
    assert not app.exception, app.exception
    app.selectbox(key="steps_exchange").set_value(X2).run()
    return app


def buttons(app):
    return sorted(b.key for b in app.button if b.key.startswith("steps_")) + sorted(
        b.key for b in app.get("form_submit_button") if b.key.startswith("steps_"))


def test_the_host_finds_the_request_at_home_and_answers_it_on_the_page(programme):
    home = logged_in("host@example.org").run()
    assert "answer the request" in shown_text(home)
    home.button(key="home_open").click().run()  # from the to-do list to the exchange's steps
    assert not home.exception and home.title[0].value == "Exchange steps"
    assert home.selectbox(key="steps_exchange").value == X2
    app = steps_page("host@example.org")
    assert {"steps_accept", "steps_decline", "steps_propose"} <= set(buttons(app))
    for other in ("visitor@example.org", "p1@example.org", "p2@example.org"):
        assert not {"steps_accept", "steps_decline"} & set(buttons(steps_page(other))), other
    app.button(key="steps_accept").click().run()
    assert app.success[0].value.startswith(f"You accepted {X2}")
    assert programme.table("host_answers")["answer"].tolist() == ["accepted"]


def test_the_agenda_and_signatures_through_the_page_then_approval_by_the_visitor_s_partnership(programme):
    agreement.accept_request(programme, OFFICER, X2)
    app = steps_page("host@example.org")
    app.text_input(key="steps_agenda_2030-05-27").input("Welcome <b>and</b> [tour](http://x.example)")
    app.get("form_submit_button")[0].click().run()  # Save the agenda
    assert app.success[0].value == "The agenda is saved."
    assert programme.table("agenda_days")["plan"].tolist() == ["Welcome <b>and</b> [tour](http://x.example)"]
    assert "steps_sign_quality_host" in buttons(app) and "steps_sign_quality_visitor" not in buttons(app)
    app.button(key="steps_sign_quality_host").click().run()
    assert app.success[0].value == "Signed the Commitment to Quality."
    visitor = steps_page("visitor@example.org")
    assert [b for b in buttons(visitor) if b.startswith("steps_sign")] == ["steps_sign_financial_visitor",
                                                                            "steps_sign_quality_visitor"]
    host_side = steps_page("p2@example.org")
    assert [b for b in buttons(host_side) if b.startswith("steps_sign")] == ["steps_sign_quality_host_partnership"]
    assert "steps_approve" not in buttons(host_side)
    for document, party in (("quality", "visitor"), ("financial", "visitor"), ("quality", "visitor_partnership"),
                            ("quality", "host_partnership"), ("financial", "visitor_partnership")):
        agreement.sign(programme, OFFICER, X2, document, party)
    assert "steps_approve" not in buttons(steps_page("p2@example.org"))
    app = steps_page("p1@example.org")
    app.button(key="steps_approve").click().run()
    assert app.success[0].value == f"{X2} is approved; its lump sum is frozen."
    assert programme.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0] == "approved"


def test_report_validation_and_payment_through_the_page_and_no_evidence_for_the_host(programme):
    from steps import agreed

    agreed(programme, X2)
    for status in ("approved", "ongoing", "completed"):  # as on the stay's last day (the template's X2)
        workflow.change_status(programme, OFFICER, X2, status, today=dt.date(2030, 6, 7))
    closing.add_evidence(programme, OFFICER, X2, PDF, "boarding-pass.pdf")
    visitor = steps_page("visitor@example.org")
    assert "steps_evidence_" in " ".join(b.key for b in visitor.get("download_button"))
    visitor.text_area(key="steps_report_done").input("Three lab visits")
    visitor.text_area(key="steps_report_results").input("A joint proposal")
    visitor.text_area(key="steps_report_follow_ups").input("Return visit")
    next(b for b in visitor.get("form_submit_button") if b.key == "steps_report_file").click().run()
    assert visitor.success[0].value.startswith("The closing report is filed")
    for host_side in ("host@example.org", "p2@example.org"):
        page = steps_page(host_side)
        assert "boarding-pass.pdf" not in shown_text(page) and not [
            b for b in page.get("download_button") if b.key.startswith("steps_evidence_")], host_side
        assert "Three lab visits" in shown_text(page)  # the report itself is shared
        assert "steps_validate" not in buttons(page)
    manager = steps_page("p1@example.org")
    manager.button(key="steps_validate").click().run()
    assert manager.success[0].value == "The report is validated: the payment is due."
    lump_sum = int(programme.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [X2]).iloc[0, 0])
    manager.number_input(key="steps_amount").set_value(lump_sum - 50).run()
    manager.button(key="steps_pay").click().run()
    assert "differs from the lump sum" in manager.error[0].value and "give the reason" in manager.error[0].value
    manager.text_input(key="steps_pay_reason").input("bank charges").run()
    manager.button(key="steps_pay").click().run()
    assert manager.success[0].value == f"The payment of EUR {lump_sum - 50:,} is recorded."
    assert programme.query("SELECT status FROM exchanges WHERE id = ?", [X2]).iloc[0, 0] == "paid"


def test_a_payment_due_is_listed_at_home_for_the_visitor_s_partnership_and_the_visitor_only(programme):
    from steps import agreed, reported

    from cx.rules import load_rulebook

    agreed(programme, X2)
    for status in ("approved", "ongoing", "completed"):
        workflow.change_status(programme, OFFICER, X2, status, today=dt.date(2030, 6, 7))
    reported(programme, X2)
    for login in ("p1@example.org", "visitor@example.org"):  # who pays, and who is owed
        assert not [t for t in logged_in(login).run().dataframe if "when" in t.value.columns], login
    closing.validate_report(programme, OFFICER, X2)
    for login in ("p1@example.org", "visitor@example.org"):
        home = logged_in(login).run()
        assert not home.exception, home.exception
        due = next(t.value for t in home.dataframe if "when" in t.value.columns)
        assert due["exchange_id"].tolist() == [X2], login
        assert due["when"].tolist() == [f"due in {load_rulebook().payment_days} days"], login
        assert "1 payment due, the soonest first." in shown_text(home)
    for login in ("host@example.org", "p2@example.org"):
        home = logged_in(login).run()
        assert not [t for t in home.dataframe if "when" in t.value.columns], login


def test_the_officer_s_home_lists_every_partnership_s_stalled_steps(app_db):
    from streamlit.testing.v1 import AppTest

    from cx import uptake
    from cx.store import Store
    from test_roles import APP

    app = AppTest.from_file(APP, default_timeout=120).run()  # the local officer
    assert not app.exception
    stalled = uptake.stalled_exchanges(Store(app_db), OFFICER)
    assert len(stalled) > 0
    shown = next(t.value for t in app.dataframe if "why" in t.value.columns)
    assert shown["exchange_id"].tolist() == stalled["exchange_id"].tolist()
    assert f"{len(stalled):,} exchanges stalled past a deadline across every partnership" in shown_text(app)


def test_every_text_the_page_takes_stops_at_its_column_s_limit(programme):
    """Issue 11's limits on issue 14's free text: each field of each step is cut at the limit the
    domain enforces (cx.store.TEXT_LIMITS), so a long text cannot reach it from the page."""
    from streamlit.testing.v1 import AppTest
    from steps import agreed, reported

    from cx import PROJECT_ROOT
    from cx.store import TEXT_LIMITS

    def fields():
        app = AppTest.from_file(str(PROJECT_ROOT / "app.py"), default_timeout=120).run()  # the local officer
        app.switch_page(PAGE).run()
        app.selectbox(key="steps_exchange").set_value(X2).run()
        assert not app.exception, app.exception
        return {e.key: e.max_chars for e in [*app.text_input, *app.text_area] if e.key.startswith("steps_")}

    seen = fields()
    agreed(programme, X2)
    seen |= fields()
    after_the_stay = dt.date(2030, 12, 1)
    for status in ("approved", "ongoing", "completed"):
        workflow.change_status(programme, OFFICER, X2, status, today=after_the_stay)
    seen |= fields()
    reported(programme, X2)
    seen |= fields()
    closing.validate_report(programme, OFFICER, X2)
    seen |= fields()
    column = {"steps_decline_reason": "reason", "steps_report_done": "done", "steps_report_results": "results",
              "steps_report_follow_ups": "follow_ups", "steps_send_back_reason": "reason", "steps_pay_reason": "reason"}
    assert set(column) <= set(seen) and any(key.startswith("steps_agenda_") for key in seen)
    assert seen == {key: TEXT_LIMITS[column.get(key, "plan")] for key in seen}
