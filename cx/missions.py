"""Group missions: several visitors of one partnership travel together to one region and meet
several hosts (e.g. a three-day business mission), with a shared agenda.

A mission groups exchanges, one per visitor, each with its own host, lump sum and visit-once
check: creating a mission requests every member's exchange through `exchanges.request_exchange`
in one transaction (all are requested, or none), and each is then approved, paid or cancelled on
its own as any exchange. A partnership manager creates missions for their partnership's visitors;
officers for any partnership. Missions are listed and mapped as one: `missions` gives a row per
mission with its members counted, its hosts' region and its money.
"""

from __future__ import annotations

import datetime as dt
import uuid

import pandas as pd

from cx.access import MANAGER, PLANNER, Viewer, as_system, scoped
from cx.errors import BrokenRules, CxError
from cx.exchanges import request_exchange
from cx.rules import Rulebook, load_rulebook
from cx.store import Store, text_too_long, without_bidi_controls

PLACE_COLUMNS = ("visitor_lat", "visitor_lon", "host_lat", "host_lon")
MIN_VISITORS = 2  # one visitor travelling alone is an exchange, not a mission


class MissionRefused(CxError):
    """A mission that cannot be created: every member's broken rule, each naming the member."""


@scoped
def create_mission(store: Store, viewer: Viewer, *, name: str, partnership_id: str, start, end,
                   members: list[tuple[str, str]], agenda: str = "", rulebook: Rulebook | None = None,
                   today: dt.date | None = None) -> str:
    """Create a mission of `members` ((visitor id, host id) pairs) for the stay from `start` to
    `end` and request each member's exchange; returns the mission's id.

    NotAllowed unless the viewer is an officer or a manager of `partnership_id`; MissionRefused
    naming every member whose exchange breaks a rule (or who is not a visitor of the partnership,
    or comes twice), and then nothing is stored."""
    rulebook = rulebook or load_rulebook()
    viewer.require(viewer.is_officer or (viewer.role == MANAGER and partnership_id in viewer.partnerships),
                   f"create a mission for the partnership {partnership_id}")
    name = without_bidi_controls(name or "").strip()
    problems = [] if name else ["the mission needs a name"]
    problems += [text for text in (text_too_long("name", name), text_too_long("agenda", agenda)) if text]
    visitors = [visitor for visitor, _ in members]
    if len(set(visitors)) < MIN_VISITORS:
        problems.append(f"a mission takes at least {MIN_VISITORS} visitors; it has {len(set(visitors))}")
    problems += [f"the visitor {v} comes twice; a visitor travels once in a mission"
                 for v in sorted({v for v in visitors if visitors.count(v) > 1})]
    if problems:
        raise MissionRefused("; ".join(problems))
    mission_id = f"M-{uuid.uuid4().hex[:10]}"
    start, end = pd.Timestamp(start).date(), pd.Timestamp(end).date()
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM partnerships WHERE id = ?", [partnership_id]).fetchone()[0]:
            raise MissionRefused(f"there is no partnership {partnership_id!r}")
        of_partnership = dict(con.execute("SELECT id, partnership_id FROM organisations WHERE id = ANY(?)",
                                          [visitors]).fetchall())
        exchange_ids = []
        for visitor, host in members:
            if of_partnership.get(visitor) != partnership_id:
                problems.append(f"{visitor} is not a visitor of {partnership_id}, which runs the mission")
                continue
            try:
                exchange_ids.append(request_exchange(store, viewer, visitor_id=visitor, host_id=host, start=start,
                                                     end=end, objectives=agenda, rulebook=rulebook, today=today))
            except BrokenRules as broken:
                problems.append(f"{visitor} at {host}: {broken}")
            except CxError as error:
                problems.append(f"{visitor} at {host}: {error}")
        if problems:
            raise MissionRefused("; ".join(problems))
        con.execute("INSERT INTO missions (id, name, partnership_id, start_date, end_date, agenda, created_by) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)", [mission_id, name, partnership_id, start, end, agenda or None,
                                                     viewer.identity])
        con.execute("UPDATE exchanges SET mission_id = ? WHERE id = ANY(?)", [mission_id, exchange_ids])
    return mission_id


def _mission_scope(viewer: Viewer) -> tuple[str, dict]:
    """The missions the viewer sees, as a condition on `missions m`: an officer's and a planner's
    all (a mission's row names no organisation), a manager's those run by their partnership(s) or
    with a member in their scope, an organisation's those it takes part in."""
    if viewer.is_officer or viewer.role == PLANNER:
        return "TRUE", {}
    scope, parameters = viewer.exchange_scope("v", "h")
    member = f"""EXISTS (SELECT 1 FROM exchanges e JOIN organisations v ON v.id = e.visitor_id
                         JOIN organisations h ON h.id = e.host_id WHERE e.mission_id = m.id AND {scope})"""
    if viewer.role == MANAGER:
        return f"(m.partnership_id = ANY($viewer_partnerships) OR {member})", parameters
    return member, parameters


@scoped
def missions(store: Store, viewer: Viewer, partnerships: list[str] | tuple = (), start=None,
             end=None) -> pd.DataFrame:
    """A row per mission the viewer sees (only those run by `partnerships` when given, and those
    whose days overlap `start` to `end` when given), earliest first: its name, partnership, days and agenda; its visitors and hosts going ahead (members
    not rejected or cancelled), the hosts' cities and countries, the members per status, the
    lump sums committed (approved to paid); and the mean places of its visitors and of its hosts,
    to map it as one."""
    rulebook = load_rulebook()
    scope, parameters = _mission_scope(viewer)
    if partnerships:
        scope += " AND m.partnership_id = ANY($chosen)"
        parameters["chosen"] = list(partnerships)
    if start is not None:
        scope += " AND m.end_date >= $start"
        parameters["start"] = pd.Timestamp(start).date()
    if end is not None:
        scope += " AND m.start_date <= $end"
        parameters["end"] = pd.Timestamp(end).date()
    going = "e.status NOT IN ('rejected', 'cancelled')"
    # Figures over every member exchange (a planner's too: system work); the missions listed are
    # the viewer's (`_mission_scope`).
    with as_system():
        table = store.query(f"""
            SELECT m.id AS mission_id, m.name, m.partnership_id, m.start_date, m.end_date, m.agenda,
                   count(DISTINCT e.visitor_id) FILTER (WHERE {going}) AS visitors,
                   count(DISTINCT e.host_id) FILTER (WHERE {going}) AS hosts,
                   string_agg(DISTINCT h.city, ', ' ORDER BY h.city) FILTER (WHERE {going}) AS host_cities,
                   string_agg(DISTINCT h.country, ', ' ORDER BY h.country) FILTER (WHERE {going}) AS host_countries,
                   count(e.id) AS exchanges,
                   CAST(coalesce(sum(e.lump_sum_eur) FILTER (WHERE e.status = ANY($taken)), 0) AS BIGINT) AS committed_eur,
                   avg(v.lat) FILTER (WHERE {going}) AS visitor_lat, avg(v.lon) FILTER (WHERE {going}) AS visitor_lon,
                   avg(h.lat) FILTER (WHERE {going}) AS host_lat, avg(h.lon) FILTER (WHERE {going}) AS host_lon
            FROM missions m
            LEFT JOIN exchanges e ON e.mission_id = m.id
            LEFT JOIN organisations v ON v.id = e.visitor_id
            LEFT JOIN organisations h ON h.id = e.host_id
            WHERE {scope}
            GROUP BY m.id, m.name, m.partnership_id, m.start_date, m.end_date, m.agenda
            ORDER BY m.start_date, m.id""", {**parameters, "taken": list(rulebook.taken_statuses)})
        statuses = store.query(f"""
            SELECT e.mission_id, e.status, count(*) AS n FROM exchanges e JOIN missions m ON m.id = e.mission_id
            WHERE {scope} GROUP BY e.mission_id, e.status ORDER BY e.mission_id, e.status""", parameters)
        written = (statuses["n"].astype(str) + " " + statuses["status"]).groupby(statuses["mission_id"]).agg(", ".join)
        return table.assign(statuses=table["mission_id"].map(written).fillna(""))


@scoped
def mission_rows(store: Store, viewer: Viewer) -> pd.DataFrame:
    """The missions' own rows (as stored) that the viewer sees, by id: what exports write."""
    scope, parameters = _mission_scope(viewer)
    return store.query(f"SELECT m.* FROM missions m WHERE {scope} ORDER BY m.id", parameters)


def hosts_in(store: Store, country: str) -> pd.DataFrame:
    """The organisations that may host in a country, as the host catalogue shows them (no contacts):
    id, name, kind, city, by name."""
    return store.query("SELECT id, name, kind, city FROM organisations WHERE can_host AND country = ? "
                       "ORDER BY name, id", [country])


@scoped
def mission_exchanges(store: Store, viewer: Viewer, mission_id: str) -> pd.DataFrame:
    """The mission's exchanges the viewer may see, with visitor and host (Store.exchanges' columns)."""
    exchanges = store.exchanges(viewer)
    return exchanges[exchanges["mission_id"] == mission_id].reset_index(drop=True)
