"""Notifications: each step that hands work to someone writes its message in the step's own
transaction; cx sends the outbox through a real SMTP server (aiosmtpd on 127.0.0.1) and records
every attempt; a server that refuses the connection, answers 4xx or 5xx loses no message and
blocks no step."""

import dataclasses
import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import test_roles
from mailserver import MailServer
from steps import agreed, reported
from test_registrations import PORTO, fill
from viewers import OFFICER, manager, organisation

from cx import accounts, agreement, closing, exchanges, outbox, registrations
from cx import io as cio
from cx.access import Viewer
from cx.cli import main
from cx.errors import CxError
from cx.local_servers import free_port
from cx.mail import BadMailSettings, MailSettings, send_pending
from cx.parties import DOCUMENTS
from cx.store import Store


@pytest.fixture
def mailserver():
    with MailServer() as server:
        yield server


@pytest.fixture
def now() -> dt.datetime:
    """The sender's clock: an hour after the test starts, so the messages it writes are due (they are
    due from the moment they are written). Fixed moments and moments taken when the module is
    collected both fell before messages written later in a long run."""
    return dt.datetime.now().replace(microsecond=0) + dt.timedelta(hours=1)


@pytest.fixture
def programme(demo_store):
    """The demo programme with a manager of P01 and a registration waiting for them."""
    accounts.add_account(demo_store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    registrations.submit(demo_store, "ana@example.org", PORTO)
    return demo_store


def waiting(store) -> list[tuple]:
    return [tuple(r) for r in store.query("SELECT recipient, subject, state FROM outbox ORDER BY id")
            .itertuples(index=False)]


def test_each_step_writes_its_message_in_its_own_transaction(programme):
    assert waiting(programme) == [
        ("mario@example.org", "Your ClusterXchange account", "pending"),
        ("mario@example.org", "Registration to assess: Porto Digital (P01)", "pending")]
    number = registrations.registration_of(programme, "ana@example.org")["id"]
    with pytest.raises(CxError):  # a refused step writes no message
        registrations.decide(programme, manager("P01"), number, accept=False, reason="")
    assert len(waiting(programme)) == 2
    registrations.decide(programme, manager("P01"), number, accept=False, reason="Wrong partnership.")
    assert waiting(programme)[-1] == ("ana@example.org", "The registration of Porto Digital was refused", "pending")
    body = programme.query("SELECT body FROM outbox ORDER BY id DESC LIMIT 1")["body"].iloc[0]
    assert "Partnership P01 refused the registration of Porto Digital: Wrong partnership." in body


def test_a_partnership_without_managers_hands_its_work_to_the_officers(demo_store):
    accounts.add_account(demo_store, OFFICER, "olga@example.org", "officer")
    registrations.submit(demo_store, "ana@example.org", dataclasses.replace(PORTO, partnership_id="P02"))
    assert waiting(demo_store)[-1] == ("olga@example.org", "Registration to assess: Porto Digital (P02)", "pending")


def test_an_exchange_request_and_its_status_changes_reach_the_people_whose_turn_it_is(demo_store):
    organisations = demo_store.table("organisations")
    taken = set(demo_store.table("exchanges").query("status not in ['rejected', 'cancelled']")["visitor_id"])
    visitor = organisations[(organisations["partnership_id"] == "P01") & organisations["can_visit"]
                            & ~organisations["id"].isin(taken)].iloc[0]
    host = organisations[(organisations["country"] != visitor["country"]) & organisations["can_host"]
                         & organisations["contact_email"].notna()].iloc[0]
    accounts.add_account(demo_store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    start = dt.date(2027, 3, 1)
    exchange_id = exchanges.request_exchange(demo_store, organisation(visitor["id"]), visitor_id=visitor["id"],
                                             host_id=host["id"], start=start, end=start + dt.timedelta(days=4),
                                             today=dt.date(2026, 11, 26))
    assert waiting(demo_store)[-2:] == [
        ("mario@example.org", f"Exchange request to approve: {exchange_id}", "pending"),
        (host["contact_email"].lower(), f"{visitor['name']} asks to visit {host['name']}", "pending")]
    agreed(demo_store, exchange_id)  # the host's answer and the six signatures (cx.agreement)
    exchanges.change_status(demo_store, manager("P01"), exchange_id, "approved", today=dt.date(2026, 11, 26))
    told = waiting(demo_store)[-2:]
    assert {r[0] for r in told} == {c.lower() for c in (visitor["contact_email"], host["contact_email"]) if c}
    assert {r[1] for r in told} == {f"Exchange {exchange_id} is approved"}
    for status, day in (("ongoing", start), ("completed", start + dt.timedelta(days=4))):
        exchanges.change_status(demo_store, manager("P01"), exchange_id, status, today=day)
    reported(demo_store, exchange_id, organisation(visitor["id"]))  # the visitor files its closing report
    assert waiting(demo_store)[-1] == ("mario@example.org", f"Closing report to validate: {exchange_id}", "pending")


def test_pending_messages_arrive_at_the_configured_server_once(programme, mailserver, now):
    settings = MailSettings.from_mapping(mailserver.settings())
    done = send_pending(programme, settings, now=now)
    assert (done.sent, done.retrying, done.failed) == (2, 0, 0)
    received = mailserver.mailbox.received
    assert [(m["To"], m["Subject"], m["From"]) for m in received] == [
        ("mario@example.org", "Your ClusterXchange account", "cx@example.org"),
        ("mario@example.org", "Registration to assess: Porto Digital (P01)", "cx@example.org")]
    assert "asks to take part in ClusterXchange through partnership P01" in received[1].get_content()
    assert received[0]["Message-ID"].endswith("@example.org>")
    assert {r[2] for r in waiting(programme)} == {"sent"}
    assert send_pending(programme, settings, now=now + dt.timedelta(hours=1)).sent == 0
    assert len(received) == 2


@pytest.mark.parametrize("failure, said", [
    ("refused", "connection refused by 127.0.0.1:"),
    ("451 4.3.0 Mail server temporarily rejected message", "451 4.3.0 Mail server temporarily rejected message"),
    ("554 5.7.1 Message rejected as spam", "554 5.7.1 Message rejected as spam"),
    ("recipients 550 5.1.1 No such user", "550 5.1.1 No such user"),
])
def test_a_failing_server_loses_nothing_and_retries_with_backoff(programme, mailserver, now, failure, said):
    """Connection refused, a 4xx and a 5xx answer: each message stays, its attempt and the server's
    answer recorded, due again after a doubling backoff; after the last attempt it is kept as
    failed; an officer's retry sends it once the server works."""
    if failure == "refused":
        settings = MailSettings.from_mapping(mailserver.settings(port=free_port(), max_attempts=3))
    else:
        settings = MailSettings.from_mapping(mailserver.settings(max_attempts=3))
        if failure.startswith("recipients "):
            mailserver.mailbox.refuse_recipients = failure.removeprefix("recipients ")
        else:
            mailserver.mailbox.answer = failure
    first = send_pending(programme, settings, now=now)
    assert (first.sent, first.retrying, first.failed) == (0, 2, 0)
    assert said in first.summary()
    rows = programme.query("SELECT * FROM outbox ORDER BY id")
    assert rows["state"].tolist() == ["pending", "pending"] and rows["attempts"].tolist() == [1, 1]
    assert all(e.startswith(said) for e in rows["last_error"])
    assert (rows["next_attempt_at"] == now + dt.timedelta(seconds=60)).all()
    assert send_pending(programme, settings, now=now + dt.timedelta(seconds=59)).retrying == 0  # not due yet
    second = send_pending(programme, settings, now=now + dt.timedelta(seconds=60))
    assert second.retrying == 2
    assert (programme.query("SELECT next_attempt_at FROM outbox")["next_attempt_at"]
            == now + dt.timedelta(seconds=60 + 120)).all()
    third = send_pending(programme, settings, now=now + dt.timedelta(hours=1))
    assert (third.retrying, third.failed) == (0, 2)
    rows = programme.query("SELECT * FROM outbox ORDER BY id")
    assert rows["state"].tolist() == ["failed", "failed"] and rows["attempts"].tolist() == [3, 3]
    assert rows["log"].str.count("\n").tolist() == [3, 3] and rows["log"].str.contains(said, regex=False).all()
    assert send_pending(programme, settings, now=now + dt.timedelta(days=2)).failed == 0  # given up: left alone
    assert not mailserver.mailbox.received
    # The step still works while the server fails, and writes its message.
    number = registrations.registration_of(programme, "ana@example.org")["id"]
    registrations.decide(programme, manager("P01"), number, accept=True)
    assert outbox.retry_failed(programme, OFFICER) == 2
    mailserver.mailbox.answer = mailserver.mailbox.refuse_recipients = None
    done = send_pending(programme, MailSettings.from_mapping(mailserver.settings()), now=now + dt.timedelta(days=3))
    assert done.sent == 3
    assert sorted(m["Subject"] for m in mailserver.mailbox.received) == [
        "Porto Digital takes part in ClusterXchange", "Registration to assess: Porto Digital (P01)",
        "Your ClusterXchange account"]


def test_two_senders_at_once_send_each_message_once(programme, mailserver, now):
    settings = MailSettings.from_mapping(mailserver.settings())
    with ThreadPoolExecutor(2) as pool:
        rounds = list(pool.map(lambda _: send_pending(programme, settings, now=now), range(2)))
    assert sum(r.sent for r in rounds) == 2
    assert len(mailserver.mailbox.received) == 2


def test_only_officers_read_or_retry_the_outbox(programme):
    assert len(outbox.messages(programme, OFFICER)) == 2
    for viewer in (manager("P01"), organisation("O00001")):
        with pytest.raises(CxError, match="may not read the outbox"):
            outbox.messages(programme, viewer)
        with pytest.raises(CxError, match="may not retry"):
            outbox.retry_failed(programme, viewer)


@pytest.mark.parametrize("values, problem", [
    ({"sender": "cx@example.org"}, "lack 'host'"),
    ({"host": "mail.example.org", "sender": "cx"}, "give the sender 'cx', which is not an e-mail address"),
    ({"host": "mail.example.org", "sender": "cx@example.org", "security": "tls"},
     "give security 'tls'; use one of starttls, ssl, none"),
    ({"host": "mail.example.org", "sender": "cx@example.org", "max_attempts": 0},
     "max_attempts must be a positive number, not 0"),
    ({"host": "mail.example.org", "sender": "cx@example.org", "pasword": "x"}, "have pasword, which cx does not know"),
])
def test_bad_settings_are_named(values, problem):
    with pytest.raises(BadMailSettings, match="^the \\[smtp\\] settings in secrets.toml " + problem.replace("(", "\\(")):
        MailSettings.from_mapping(values, "secrets.toml")


def test_the_send_mail_command_sends_and_says_what_it_did(programme, mailserver, tmp_path, capsys):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[smtp]\n" + "".join(f"{k} = {v!r}\n" for k, v in mailserver.settings().items())
                       .replace("'", '"'))
    assert main(["send-mail", "--db", str(programme.path), "--config", str(secrets)]) == 0
    assert capsys.readouterr().out.strip() == "2 sent, 0 to retry later, 0 given up"
    assert len(mailserver.mailbox.received) == 2
    mailserver.mailbox.answer = "421 4.3.2 Service shutting down"
    registrations.decide(programme, OFFICER, registrations.registration_of(programme, "ana@example.org")["id"],
                         accept=True)
    assert main(["send-mail", "--db", str(programme.path), "--config", str(secrets)]) == 1
    assert capsys.readouterr().out.strip() == ("0 sent, 1 to retry later, 0 given up "
                                               "(the server said: 421 4.3.2 Service shutting down)")


def test_the_send_mail_command_without_smtp_leaves_the_messages_waiting(programme, tmp_path, capsys):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[auth]\nclient_id = 'cx'\n")
    assert main(["send-mail", "--db", str(programme.path), "--config", str(secrets)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {secrets} has no [smtp] section: the 2 messages in the outbox "
                                               "wait until one is configured (see the README, 'Notifications')")
    assert {r[2] for r in waiting(programme)} == {"pending"}


# --- in the app -------------------------------------------------------------------------------

def arrived(mailbox, count: int, seconds: float = 30) -> list:
    """The messages the server received, once `count` have (the app sends in the background)."""
    deadline = time.monotonic() + seconds
    while len(mailbox.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return mailbox.received


def test_the_app_sends_a_step_s_message_after_the_step(app_db, mailserver):
    store = Store(app_db)
    accounts.add_account(store, OFFICER, "mario@example.org", "partnership_manager", partnerships=["P01"])
    app = test_roles.logged_in("ana@example.org")
    app.secrets = {**test_roles.AUTH, "smtp": mailserver.settings()}
    app = fill(app.run(), PORTO)
    assert not app.exception and app.title[0].value == "Your registration is waiting"
    received = arrived(mailserver.mailbox, 2)
    assert [(m["To"], m["Subject"]) for m in received] == [
        ("mario@example.org", "Your ClusterXchange account"),
        ("mario@example.org", "Registration to assess: Porto Digital (P01)")]
    deadline = time.monotonic() + 10  # the sender records the outcome just after the server has the message
    while set(store.table("outbox")["state"]) != {"sent"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert set(store.table("outbox")["state"]) == {"sent"}


def test_officers_see_the_outbox_and_retry_what_was_given_up(app_db, mailserver, now):
    store = Store(app_db)
    accounts.add_account(store, OFFICER, "olga@example.org", "officer")
    failing = MailSettings.from_mapping(mailserver.settings(port=free_port(), max_attempts=1))
    send_pending(store, failing, now=now)
    app = test_roles.logged_in("olga@example.org")
    app.switch_page("app_pages/accounts.py").run()
    assert not app.exception
    assert app.caption[-1].value == ("0 sent, 1 waiting or given up. Nothing is sent: .streamlit/secrets.toml has no "
                                     "[smtp] section (see the README, 'Notifications'); messages wait here.")
    unsent = app.dataframe[1].value  # after the accounts
    assert unsent[["recipient", "state"]].values.tolist() == [["olga@example.org", "failed"]]
    assert unsent["last_error"].iloc[0].startswith("connection refused by 127.0.0.1:")
    app.button(key="outbox_retry").click().run()
    assert app.success[0].value == "1 messages are back in line."
    assert store.table("outbox")["state"].tolist() == ["pending"]


def test_addresses_nobody_could_receive_are_left_out(store):
    with store.transaction() as con:
        written = outbox.notify(con, [None, float("nan"), "auth0|12345", " Ana@Example.org ", "ana@example.org"],
                                "Subject", "Body", by="test")
    assert written == 1 and waiting(store) == [("ana@example.org", "Subject", "pending")]


# --- one exchange's whole path ----------------------------------------------------------------

CLAIRE = "claire.martin@example.org"  # the template's contact of EX-O4, the visitor
HOST_ACCOUNT, P1_MANAGER, P2_MANAGER = "desk@acstyria.example.org", "mario@example.org", "petra@example.org"


@pytest.fixture
def template_programme(store):
    """The template programme: EX-X2 is EX-O4 (Lyon, EX-P1) visiting EX-O3 (no contact; an account
    acts for it; EX-P2), requested; each partnership has a manager."""
    for kind in cio.KINDS:
        assert cio.import_path(store, OFFICER, kind, cio.template_path(kind)).written
    accounts.add_account(store, OFFICER, HOST_ACCOUNT, "organisation", organisation_id="EX-O3")
    accounts.add_account(store, OFFICER, P1_MANAGER, "partnership_manager", partnerships=["EX-P1"])
    accounts.add_account(store, OFFICER, P2_MANAGER, "partnership_manager", partnerships=["EX-P2"])
    with store.transaction() as con:
        con.execute("DELETE FROM outbox")  # the accounts' welcome messages
    return store


def test_one_exchange_s_whole_path_reaches_each_person_whose_turn_it_is(template_programme, mailserver, now):
    """From the host's answer to the payment, each step writes to whoever acts next; what arrives
    at a real SMTP server, person by person, is the path as each of them lives it."""
    store, x2 = template_programme, "EX-X2"
    visitor, host = Viewer("organisation", CLAIRE, organisation="EX-O4"), Viewer("organisation", HOST_ACCOUNT,
                                                                                  organisation="EX-O3")
    p1, p2 = Viewer("partnership_manager", P1_MANAGER, ("EX-P1",)), Viewer("partnership_manager", P2_MANAGER, ("EX-P2",))
    signer = {"visitor": visitor, "host": host, "visitor_partnership": p1, "host_partnership": p2}
    agreement.propose_dates(store, host, x2, "2030-06-17", "2030-06-21", today=dt.date(2030, 2, 18))
    agreement.answer_proposal(store, visitor, x2, accept=False)
    agreement.accept_request(store, host, x2)
    agreement.set_agenda(store, visitor, x2, {"2030-05-27": "Welcome"})
    agreement.sign(store, visitor, x2, "quality", "visitor")
    agreement.sign(store, host, x2, "quality", "host")
    agreement.set_agenda(store, host, x2, {"2030-05-27": "Welcome", "2030-05-28": "Workshop"})  # voids both
    for document, parties in DOCUMENTS.items():
        for party in parties:
            agreement.sign(store, signer[party], x2, document, party)
    exchanges.change_status(store, p1, x2, "approved")
    exchanges.change_status(store, p1, x2, "ongoing", today=dt.date(2030, 5, 27))
    exchanges.change_status(store, p1, x2, "completed", today=dt.date(2030, 6, 7))
    reported(store, x2, visitor)
    closing.send_back(store, p1, x2, "The hotel invoice is missing {stay}")
    closing.file_report(store, visitor, x2, done="d", results="r", follow_ups="f", host_rating=4)
    closing.validate_report(store, p1, x2)
    lump_sum = int(store.query("SELECT lump_sum_eur FROM exchanges WHERE id = ?", [x2]).iloc[0, 0])
    closing.record_payment(store, p1, x2, paid_on="2030-06-20", amount_eur=lump_sum, today=dt.date(2030, 6, 20))

    done = send_pending(store, MailSettings.from_mapping(mailserver.settings()), now=now)
    assert (done.sent, done.retrying, done.failed) == (len(mailserver.mailbox.received), 0, 0)
    arrived_at = {}
    for message in mailserver.mailbox.received:
        arrived_at.setdefault(message["To"], []).append(message["Subject"].replace(x2, "X2"))
    sign, again = "Your signature is awaited: exchange X2", "Sign again: exchange X2"
    assert arrived_at == {
        CLAIRE: ["The host proposes other dates: exchange X2", "The host accepted your request: exchange X2",
                 sign, sign, again, sign, sign, sign, sign,
                 "Exchange X2 is approved", "Exchange X2 is ongoing", "Exchange X2 is completed",
                 "Exchange X2 is reported", "Your closing report was sent back: exchange X2",
                 "Your closing report was validated: exchange X2", "Lump sum paid: exchange X2"],
        HOST_ACCOUNT: ["The visitor keeps its dates: exchange X2", sign, again, sign,
                       "Exchange X2 is approved", "Exchange X2 is ongoing", "Exchange X2 is completed",
                       "Exchange X2 is reported"],
        P1_MANAGER: [sign, sign, again, sign, sign, sign, sign, sign, "Every party signed: approve exchange X2",
                     "Closing report to validate: X2", "Closing report filed again: X2"],
        P2_MANAGER: [sign, sign, again, sign, sign, sign]}
    bodies = {m["Subject"]: m.get_content() for m in mailserver.mailbox.received}
    assert ("the host proposes 2030-06-17 to 2030-06-21 instead"
            in bodies[f"The host proposes other dates: exchange {x2}"])
    assert ("The closing report of the stay of Lyon Textile Innovations SAS at ACstyria Mobility Cluster from "
            "2030-05-27 to 2030-06-07 was sent back, saying: The hotel invoice is missing {stay}"
            in bodies[f"Your closing report was sent back: exchange {x2}"])  # typed text is not filled in
    waiting_for_p1 = [m.get_content() for m in mailserver.mailbox.received
                      if m["To"] == P1_MANAGER and m["Subject"].startswith("Your signature")]
    assert "As the visitor's partnership, sign the Commitment to Quality and the financial agreement." in waiting_for_p1[0]
    assert waiting_for_p1[-1].count("sign the financial agreement") == 1


def test_an_import_that_moves_a_stored_exchange_tells_its_people_and_new_rows_tell_nobody(template_programme):
    """The IT tool's file moves EX-X1 from approved to ongoing: both organisations are told, as
    when it moves in cx. Its new exchange (history cx did not hold) writes to nobody."""
    store = template_programme
    exchanges_file = cio.export_frame(store, OFFICER, "exchanges")
    exchanges_file.loc[exchanges_file["id"] == "EX-X1", "status"] = "ongoing"
    exchanges_file.loc[len(exchanges_file)] = {**exchanges_file.iloc[0].to_dict(), "id": "EX-X9", "status": "paid",
                                               "visitor_id": "EX-O2", "host_id": "EX-O3",
                                               "start_date": dt.date(2025, 3, 3), "end_date": dt.date(2025, 3, 7)}
    name, data = cio.export_bytes({"exchanges": exchanges_file}, "csv")
    report = cio.import_file(store, OFFICER, "exchanges", data, name, today=dt.date(2026, 3, 2))
    assert report.written and (report.added, report.updated) == (1, 1)
    assert waiting(store) == [("ana.silva@example.org", "Exchange EX-X1 is ongoing", "pending"),
                              ("j.weber@example.org", "Exchange EX-X1 is ongoing", "pending")]
    body = store.query("SELECT body FROM outbox ORDER BY id")["body"].iloc[0]
    assert body == (f"{OFFICER.identity} (import of exchanges.csv) moved exchange EX-X1 (the stay of Porto Digital "
                    "Cluster at Stuttgart Mobility Lab from 2026-03-02 to 2026-03-06) from approved to ongoing.")
