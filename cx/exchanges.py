"""The exchange workflow: requested → approved → ongoing → completed → reported → paid, with
rejected and cancelled, and an audit trail of every change in `exchange_events`.

The rulebook is checked when an exchange is requested and again at approval, where the visit-once
rule is decided and the lump sum is frozen. Every check that reads other rows runs inside the
write's transaction, which holds the visitor (`Store.lock_visitors`: on DuckDB the write lock of
every transaction, on PostgreSQL an advisory lock per visitor): two sessions or processes
approving two exchanges of one visitor at once cannot both succeed, because the second one's
check runs after the first one's write.
"""

from __future__ import annotations

import datetime as dt
import uuid

import numpy as np
import pandas as pd

from cx.access import NotAllowed, Viewer, scoped
from cx.errors import BrokenRules, CxError, InvalidTransition
from cx.geo import distance_km
from cx.outbox import managers_of, notify, notify_all, people
# Callers import UnknownExchange from here, where the workflow raises it.
from cx.parties import UnknownExchange, approval_refusal, holding, record  # noqa: F401
from cx.rules import Breach, Rulebook, load_rulebook
from cx.store import ORGANISATION_RECORDS, Store, text_too_long

# The allowed next statuses of each status; anything else is refused with the reason.
TRANSITIONS: dict[str, frozenset[str]] = {
    "requested": frozenset({"approved", "rejected", "cancelled"}),
    "approved": frozenset({"ongoing", "cancelled"}),
    "ongoing": frozenset({"completed", "cancelled"}),
    "completed": frozenset({"reported"}),
    "reported": frozenset({"paid"}),
    "paid": frozenset(),
    "rejected": frozenset(),
    "cancelled": frozenset(),
}

# Workflow order, for listing statuses the way a partnership manager reads them.
ORDER = ("requested", "approved", "ongoing", "completed", "reported", "paid", "rejected", "cancelled")

def allowed_next(status: str) -> list[str]:
    """The statuses an exchange in `status` may move to, in workflow order."""
    return [s for s in ORDER if s in TRANSITIONS.get(status, ())]


def reachable(status: str) -> set[str]:
    """Every status an exchange in `status` can reach through one or more allowed transitions."""
    found, todo = set(), [status]
    while todo:
        for following in TRANSITIONS.get(todo.pop(), ()):
            if following not in found:
                found.add(following)
                todo.append(following)
    return found


def refusal(exchange_id: str, status: str, to_status: str) -> str | None:
    """Why an exchange in `status` may not become `to_status` (None when it may)."""
    if to_status in TRANSITIONS.get(status, ()):
        return None
    if to_status not in TRANSITIONS:
        return f"{to_status!r} is not a status; the statuses are {', '.join(ORDER)}"
    if to_status == status:
        return f"exchange {exchange_id} is already {status}"
    allowed = ", ".join(allowed_next(status)) or "none (it is final)"
    return f"exchange {exchange_id} is {status}; it cannot become {to_status} (allowed next: {allowed})"


class UnknownOrganisation(CxError):
    """An exchange that names an organisation the database does not hold."""

    def __init__(self, role, organisation_id):
        super().__init__(f"the {role} {organisation_id!r} is not a registered organisation")


def _organisation(con, organisation_id: str, role: str) -> dict:
    row = con.execute(
        "SELECT id, name, city, country, lat, lon, can_visit, can_host, partnership_id, contact_email "
        f"FROM {ORGANISATION_RECORDS} o WHERE id = ?",
        [organisation_id]
    ).df()
    if row.empty:
        raise UnknownOrganisation(role, organisation_id)
    return row.iloc[0].to_dict()


def _visits_taken(con, visitor_id: str, rulebook: Rulebook, other_than: str | None = None) -> int:
    return con.execute(
        "SELECT count(*) FROM exchanges WHERE visitor_id = ? AND status = ANY(?) AND id IS DISTINCT FROM ?",
        [visitor_id, list(rulebook.taken_statuses), other_than],
    ).fetchone()[0]


def assess_stay(con, visitor_id, host_id, start, end, rulebook, other_than=None, freezing=False):
    """The breaches of a planned stay, and its working days, distance and lump sum.

    `freezing` (at approval) also needs the distance: it decides whether the lump sum is halved."""
    visitor, host = _organisation(con, visitor_id, "visitor"), _organisation(con, host_id, "host")
    breaches = rulebook.check_exchange(visitor["country"], host["country"], start, end,
                                       visits_taken=_visits_taken(con, visitor_id, rulebook, other_than))
    if not visitor["can_visit"]:
        breaches.append(Breach("may_not_visit", f"{visitor['name']} is registered as a host only and may not visit"))
    if not host["can_host"]:
        breaches.append(Breach("may_not_host", f"{host['name']} is not registered as a host"))
    distance = float(distance_km(visitor["lat"], visitor["lon"], host["lat"], host["lon"]))
    if freezing and np.isnan(distance):
        unplaced = " and ".join(f"{o['name']} ({o['city']})" for o in (visitor, host) if pd.isna(o["lat"]))
        breaches.append(Breach("unplaced", f"the distance that decides halving is unknown: {unplaced} could not be "
                                           "placed; give its latitude and longitude on the Data page, then approve"))
    money = rulebook.lump_sums(pd.DataFrame({"host_country": [host["country"]], "start": [start], "end": [end],
                                             "distance_km": [distance]})).iloc[0]
    return breaches, distance, money


def started_already(start, today: dt.date) -> list[Breach]:
    """A request is for a stay to come: one starting before `today` is refused, whether made in
    the app or arriving as a new row of an import."""
    start = pd.Timestamp(start).date()
    if start >= today:
        return []
    return [Breach("started_already", f"the stay would start on {start}, before today ({today}); "
                                      "request a stay that has not started")]


def date_breaches(start, end, *, rulebook: Rulebook | None = None, today: dt.date | None = None) -> list[Breach]:
    """What is wrong with a planned stay's dates at any host: the Find a host form checks them
    before listing hosts, so no host is offered for dates that a request would refuse."""
    rulebook = rulebook or load_rulebook()
    breaches = rulebook.check_dates(start, end)
    return breaches + (started_already(start, today or dt.date.today()) if not breaches else [])


ENDED = ("rejected", "cancelled")  # a request that ended takes nothing and blocks nothing
STAY_COLUMNS = ["id", "visitor_id", "host_id", "start_date", "end_date", "status"]


def repeats(stays: pd.DataFrame, others: pd.DataFrame) -> pd.DataFrame:
    """The pairs (`stay`, `other`: index labels) in which a stay repeats another exchange: the same
    visitor at the same host on overlapping dates, under another id, neither rejected nor cancelled.
    Both frames have STAY_COLUMNS; a request and an import both refuse such a repeat."""
    def live(frame, name):
        frame = frame.loc[~frame["status"].isin(ENDED), STAY_COLUMNS]
        return frame.assign(**{name: frame.index}).astype({"start_date": "datetime64[ns]", "end_date": "datetime64[ns]"})
    pairs = live(stays, "stay").merge(live(others, "other"), on=["visitor_id", "host_id"], suffixes=("", "_other"))
    overlap = ((pairs["id"] != pairs["id_other"]) & (pairs["start_date_other"] <= pairs["end_date"])
               & (pairs["end_date_other"] >= pairs["start_date"]))
    return pairs.loc[overlap, ["stay", "other"]].reset_index(drop=True)


def repeat_breach(host: str, other: pd.Series, where: str = "") -> Breach:
    """Names the exchange a stay repeats (`other` has STAY_COLUMNS; `where` says where it is)."""
    return Breach("requested_already", f"the visitor already asked {host} for these dates: exchange {other['id']} "
                                       f"({other['start_date']:%Y-%m-%d} to {other['end_date']:%Y-%m-%d}){where} "
                                       f"is {other['status']}")


def _request_breaches(con, visitor_id, host_id, start, end, today: dt.date) -> list[Breach]:
    """What makes a new request pointless whatever the call's rules: a stay that has started, or
    one that repeats a request of the same visitor to the same host still under way."""
    breaches = started_already(start, today)
    stay = pd.DataFrame([[None, visitor_id, host_id, pd.Timestamp(start), pd.Timestamp(end), "requested"]],
                        columns=STAY_COLUMNS)
    others = pd.DataFrame(con.execute(
        "SELECT id, visitor_id, host_id, start_date, end_date, status FROM exchanges WHERE visitor_id = ? AND host_id = ?",
        [visitor_id, host_id]).fetchall(), columns=STAY_COLUMNS)
    pairs = repeats(stay, others)
    if len(pairs):
        first = others.loc[pairs["other"]].sort_values("start_date").iloc[0]
        host = con.execute("SELECT name FROM organisations WHERE id = ?", [host_id]).fetchone()[0]
        breaches.append(repeat_breach(host, first))
    return breaches


@scoped
def request_exchange(store: Store, viewer: Viewer, *, visitor_id: str, host_id: str, start, end,
                     objectives: str = "", activities=(), rulebook: Rulebook | None = None,
                     today: dt.date | None = None) -> str:
    """Store a requested exchange after the rulebook's checks; returns its id.

    Raises NotAllowed unless the viewer may request for this visitor (an officer; the visitor's
    partnership manager; the visitor itself); BrokenRules with every broken rule when the stay is
    not allowed, has started before `today` (default: the real one), or repeats a pending request.
    Either way it stores nothing."""
    rulebook = rulebook or load_rulebook()
    for column, value in (("objectives", objectives), ("activities", "; ".join(activities)), ("changed_by", viewer.identity)):
        if text_too_long(column, value):
            raise CxError(text_too_long(column, value))
    exchange_id = f"X-{uuid.uuid4().hex[:10]}"
    with store.transaction() as con:
        store.lock_visitors([visitor_id])
        # A role that reads no rows is refused before the visitor is read (which it could not read).
        viewer.require(viewer.reads_rows, f"request an exchange for the visitor {visitor_id}")
        visitor = _organisation(con, visitor_id, "visitor")
        viewer.require(viewer.may_request_for(visitor["partnership_id"], visitor_id),
                       f"request an exchange for the visitor {visitor_id}")
        breaches, distance, money = assess_stay(con, visitor_id, host_id, start, end, rulebook)
        breaches += _request_breaches(con, visitor_id, host_id, start, end, today or dt.date.today())
        if breaches:
            raise BrokenRules(breaches)
        con.execute(
            """INSERT INTO exchanges (id, visitor_id, host_id, start_date, end_date, working_days, distance_km,
                   objectives, activities, status, lump_sum_eur, halved)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'requested', ?, ?)""",
            [exchange_id, visitor_id, host_id, pd.Timestamp(start).date(), pd.Timestamp(end).date(),
             int(money["working_days"]), None if np.isnan(distance) else distance, objectives, list(activities),
             # Without the distance the lump sum is not known yet (approval refuses to freeze it).
             None if np.isnan(distance) else int(money["lump_sum_eur"]),
             None if np.isnan(distance) else bool(money["halved"])],
        )
        con.execute("INSERT INTO exchange_events (exchange_id, from_status, to_status, changed_by) "
                    "VALUES (?, NULL, 'requested', ?)", [exchange_id, viewer.identity])
        host = _organisation(con, host_id, "host")
        stay = (f"{visitor['name']} ({visitor['city']}, {visitor['country']}) asks to stay with {host['name']} "
                f"({host['city']}, {host['country']}) from {pd.Timestamp(start):%Y-%m-%d} to {pd.Timestamp(end):%Y-%m-%d}"
                f" (exchange {exchange_id}).")
        notify(con, managers_of(con, visitor["partnership_id"]), f"Exchange request to approve: {exchange_id}",
               f"{stay}\n\nApprove or reject it on cx's Exchanges page.", by=viewer.identity)
        notify(con, host["contact_email"], f"{visitor['name']} asks to visit {host['name']}",
               f"{stay}\n\nThe visitor's partnership approves the stay; log in to cx to follow it.", by=viewer.identity)
    return exchange_id


# Statuses reached by a step of their own, which records what the status stands for.
STEPS_OF_THEIR_OWN = {
    "reported": "exchange {id} becomes reported when the visitor files the closing report",
    "paid": "exchange {id} becomes paid when its partnership records the payment (date and amount)",
}


def _too_early(exchange_id: str, to_status: str, start: dt.date, end: dt.date, today: dt.date) -> str | None:
    """Why the calendar does not allow `to_status` yet: a stay is ongoing from its first day and
    completed from its last (None when it may move)."""
    if to_status == "ongoing" and start > today:
        return f"exchange {exchange_id} starts on {start}; it can be ongoing from that day (today is {today})"
    if to_status == "completed" and end > today:
        return f"exchange {exchange_id} ends on {end}; it can be completed from that day (today is {today})"
    return None


@scoped
def change_status(store: Store, viewer: Viewer, exchange_id: str, to_status: str, *,
                  rulebook: Rulebook | None = None, today: dt.date | None = None) -> None:
    """Move an exchange to `to_status` if the workflow, the calendar (`today`, default the real
    one) and the viewer's role allow it, and record the viewer as who did it.

    Approval needs the host's acceptance and every signature (`parties.approval_refusal`, read in
    the approving write), re-checks the rulebook (the visit-once rule above all) and freezes the
    lump sum. Reported and paid are reached by their own steps (`cx.closing`). An
    exchange outside the viewer's scope is refused as if it did not exist (UnknownExchange), so
    ids of other partnerships' exchanges cannot be probed."""
    rulebook = rulebook or load_rulebook()
    with store.transaction() as con:
        # Every change of an exchange holds its visitor, so the visit-once check and the status
        # it counts cannot change under it (a server back end's lock; DuckDB's holds every write).
        exchange = holding(store, con, viewer, exchange_id)
        (visitor_id, _), (host_id, _) = visitor, host = exchange.visitor, exchange.host
        status, start, end = exchange.status, exchange.start, exchange.end
        if not viewer.may_move(to_status, visitor, host):
            raise NotAllowed(viewer, f"make exchange {exchange_id} {to_status}" + (
                " (approval is for the visitor's partnership, which pays the lump sum)"
                if to_status == "approved" else ""))
        reason = (refusal(exchange_id, status, to_status)
                  or (STEPS_OF_THEIR_OWN[to_status].format(id=exchange_id) if to_status in STEPS_OF_THEIR_OWN else None)
                  or _too_early(exchange_id, to_status, start, end, today or dt.date.today())
                  or (approval_refusal(con, exchange_id) if to_status == "approved" else None))
        if reason:
            raise InvalidTransition(reason)
        if to_status == "approved":
            breaches, distance, money = assess_stay(con, visitor_id, host_id, start, end, rulebook, other_than=exchange_id,
                                                freezing=True)
            if breaches:
                raise BrokenRules(breaches)
            con.execute("UPDATE exchanges SET working_days = ?, distance_km = ?, lump_sum_eur = ?, halved = ? "
                        "WHERE id = ?", [int(money["working_days"]), None if np.isnan(distance) else distance,
                                         int(money["lump_sum_eur"]), bool(money["halved"]), exchange_id])
        record(con, exchange, viewer, action=None, to_status=to_status)
        tell_moves(con, viewer.identity, [(exchange_id, status, to_status)])


def tell_moves(con, by: str, moves) -> int:
    """Tell both organisations (their contacts and accounts) of each exchange that moved, as
    (exchange id, from status, to status), and the visitor's partnership when a closing report
    waits for its validation and payment: a status changed here, by a step of its own
    (`cx.closing`) or by an import, in one bulk write. An organisation missing from cx (an
    exchange imported before it) is named by its id and told nothing."""
    moves = pd.DataFrame(list(moves), columns=["exchange_id", "from_status", "to_status"])
    if moves.empty:
        return 0
    stays = moves.merge(con.execute("""
        SELECT e.id AS exchange_id, e.visitor_id, e.host_id, v.partnership_id, coalesce(v.name, e.visitor_id) AS visitor,
               coalesce(h.name, e.host_id) AS host, e.start_date, e.end_date
        FROM exchanges e LEFT JOIN organisations v ON v.id = e.visitor_id LEFT JOIN organisations h ON h.id = e.host_id
        WHERE e.id = ANY(?)""", [moves["exchange_id"].tolist()]).df(), on="exchange_id")
    stay = [f"the stay of {v} at {h} from {pd.Timestamp(s):%Y-%m-%d} to {pd.Timestamp(e):%Y-%m-%d}"
            for v, h, s, e in zip(stays["visitor"], stays["host"], stays["start_date"], stays["end_date"])]
    stays = stays.assign(order=range(len(stays)), subject="Exchange " + stays["exchange_id"] + " is " + stays["to_status"],
                         body=[f"{by} moved exchange {x} ({s}) from {a} to {b}." for x, s, a, b in
                               zip(stays["exchange_id"], stay, stays["from_status"], stays["to_status"])])
    sides = pd.concat([stays.assign(organisation_id=stays[side], side=rank)
                       for rank, side in enumerate(("visitor_id", "host_id"))])
    found = sides.merge(people(con, set(sides["organisation_id"].dropna())), on="organisation_id")
    reported = stays.assign(stay=stay)[stays["to_status"] == "reported"]
    managers = pd.DataFrame([(row.order, recipient, f"Closing report to validate: {row.exchange_id}",
                              f"The closing report of {row.stay} is in: validate it and pay the lump sum within the "
                              "call's deadline.") for row in reported.itertuples()
                             for recipient in managers_of(con, row.partnership_id)],
                            columns=["order", "recipient", "subject", "body"]).assign(side=2)
    messages = pd.concat([found, managers]).sort_values(["order", "side"], kind="stable")
    return notify_all(con, messages, by=by)


@scoped
def history(store: Store, viewer: Viewer, exchange_id: str) -> pd.DataFrame:
    """The exchange's audit trail, oldest first (empty for an exchange outside the viewer's scope)."""
    viewer.require_rows("see the history of exchanges")
    scope, parameters = viewer.exchange_scope("v", "h")
    return store.query(f"""
        SELECT ev.changed_at, ev.from_status, ev.to_status, ev.action, ev.note, ev.changed_by
        FROM exchange_events ev JOIN exchanges e ON e.id = ev.exchange_id
        LEFT JOIN organisations v ON v.id = e.visitor_id LEFT JOIN organisations h ON h.id = e.host_id
        WHERE ev.exchange_id = $exchange AND {scope} ORDER BY ev.changed_at, ev.id""",
                       {"exchange": exchange_id, **parameters})


@scoped
def partnership_exchanges(store: Store, viewer: Viewer, partnership_id: str) -> pd.DataFrame:
    """The exchanges a partnership guides: those whose visitor or host registered through it,
    in workflow order of status, then the latest first day first. `side` says whose partnership it
    is (the visitor's partnership pays the lump sum). Only officers and the partnership's managers
    may read them."""
    viewer.require(viewer.is_officer or partnership_id in viewer.partnerships,
                   f"see the exchanges of partnership {partnership_id}")
    return store.query(
        """
        SELECT e.id, e.status, e.start_date, e.end_date, v.name AS visitor, v.country AS visitor_country,
               h.name AS host, h.country AS host_country, e.working_days, e.lump_sum_eur, e.updated_at,
               CASE WHEN v.partnership_id = $p THEN 'visitor' ELSE 'host' END AS side
        FROM exchanges e
        LEFT JOIN organisations v ON v.id = e.visitor_id
        LEFT JOIN organisations h ON h.id = e.host_id
        WHERE v.partnership_id = $p OR h.partnership_id = $p
        ORDER BY array_position($order, CAST(e.status AS TEXT)), e.start_date DESC, e.id
        """,
        {"p": partnership_id, "order": list(ORDER)},
    )


@scoped
def visitor_exchanges(store: Store, viewer: Viewer, visitor_id: str) -> pd.DataFrame:
    """The visitor's own exchanges that the viewer may see, latest first day first: what it has
    asked for and where each stands."""
    viewer.require_rows("see exchanges")
    scope, parameters = viewer.exchange_scope("v", "h")
    return store.query(
        f"""SELECT e.id, e.status, h.name AS host, h.country AS host_country, e.start_date, e.end_date,
                   e.lump_sum_eur
            FROM exchanges e LEFT JOIN organisations v ON v.id = e.visitor_id
            LEFT JOIN organisations h ON h.id = e.host_id
            WHERE e.visitor_id = $visitor AND {scope} ORDER BY e.start_date DESC, e.id""",
        {"visitor": visitor_id, **parameters})


def by_status(exchanges: pd.DataFrame) -> pd.DataFrame:
    """Exchanges and lump sums per status (for `charts.exchanges_by_status`), in workflow order."""
    table = exchanges.groupby("status").agg(exchanges=("id", "size"), lump_sum_eur=("lump_sum_eur", "sum"))
    return table.reindex([s for s in ORDER if s in table.index]).reset_index()
