"""The registered visitors as Find a host and `cx match` need them, read in SQL so that a page
never loads the whole organisations and exchanges tables to pick one visitor among 50,000."""

from __future__ import annotations

import pandas as pd

from cx.access import Viewer, scoped
from cx.errors import CxError
from cx.rules import Rulebook, load_rulebook
from cx.store import Store


@scoped
def visitor_choices(store: Store, viewer: Viewer, rulebook: Rulebook | None = None) -> pd.DataFrame:
    """Every organisation that may visit and that the viewer acts for (all for an officer, a
    manager's partnership(s), an organisation itself), indexed by id, with `label` ("name (city,
    country)", marked when it has visited already) and `taken` visits; those who may still visit
    come first, then by name."""
    rulebook = rulebook or load_rulebook()
    viewer.require_rows("see the visiting organisations")
    scope, parameters = viewer.organisation_scope("o")
    return store.query(f"""
        SELECT o.id,
               o.name || ' (' || coalesce(o.city, '?') || ', ' || o.country || ')'
                   || CASE WHEN coalesce(t.taken, 0) > 0 THEN ' · visited already' ELSE '' END AS label,
               coalesce(t.taken, 0)::INTEGER AS taken
        FROM organisations o
        LEFT JOIN (SELECT visitor_id, count(*) AS taken FROM exchanges  -- the visits used up: approved to paid
                   WHERE status = ANY($taken) GROUP BY visitor_id) t ON t.visitor_id = o.id
        WHERE o.can_visit AND {scope}
        ORDER BY taken, o.name, o.id
    """, {"taken": list(rulebook.taken_statuses), **parameters}).set_index("id")


def hosts_registered(store: Store) -> int:
    """How many organisations may host: Find a host has nothing to suggest without one."""
    return int(store.query("SELECT count(*) AS n FROM organisations WHERE can_host")["n"].iloc[0])


@scoped
def visitor_details(store: Store, viewer: Viewer, visitor_id: str, rulebook: Rulebook | None = None) -> dict:
    """What `HostMatcher.suggest` needs to know about a registered visitor the viewer acts for:
    `visitor_id`, `visitor_country`, `visitor_city`, `visitor_location` (None when the record has
    no coordinates) and `visits_taken`. Raises CxError for an unknown id or one outside the scope."""
    rulebook = rulebook or load_rulebook()
    viewer.require_rows("see the visiting organisations")
    scope, parameters = viewer.organisation_scope("o")
    row = store.query(f"""
        SELECT country, city, lat, lon,
               (SELECT count(*) FROM exchanges WHERE visitor_id = $id AND status = ANY($taken)) AS taken
        FROM organisations o WHERE id = $id AND {scope}
    """, {"taken": list(rulebook.taken_statuses), "id": str(visitor_id), **parameters})
    if row.empty:
        raise CxError(f"there is no registered organisation {visitor_id!r}")
    row = row.iloc[0]
    location = (float(row["lat"]), float(row["lon"])) if pd.notna(row["lat"]) and pd.notna(row["lon"]) else None
    return {"visitor_id": str(visitor_id), "visitor_country": row["country"],
            "visitor_city": row["city"] if isinstance(row["city"], str) else None,
            "visitor_location": location, "visits_taken": int(row["taken"])}


def matching_visitors(choices: pd.DataFrame, text: str, limit: int) -> pd.DataFrame:
    """The first `limit` of `visitor_choices` whose label or id contains `text` (any case)."""
    text = text.strip()
    if not text:
        return choices.head(limit)
    found = choices["label"].str.contains(text, case=False, regex=False) | choices.index.str.contains(
        text, case=False, regex=False)
    return choices[found].head(limit)
