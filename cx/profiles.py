"""An organisation's own profile: what it tells visitors and hosts about itself, and whom to write to.

The organisation edits it itself; its partnership's managers and the officers may too. Where it
is (country, city, coordinates), its kind and its partnership stay as registered: changing them
changes which rules apply, so they go through an import that checks them."""

from __future__ import annotations

import re

from cx.access import MANAGER, Viewer, scoped
from cx.ecosystems import ECOSYSTEMS
from cx.errors import CxError
from cx.store import Store, text_too_long, without_bidi_controls

EDITABLE = ("description", "sectors", "ecosystems", "can_host", "contact_name", "contact_email", "looking_for",
            "looking_for_shown_to")
# Which hosts may read what a visitor is looking for: the visitor chooses (cx.invitations reads it).
SHOWN_TO = {"nobody": "no host (only our partnership and the officers)",
            "partnership": "the hosts of our partnership", "all": "every host"}
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@scoped
def profile(store: Store, viewer: Viewer, organisation_id: str) -> dict:
    """The organisation's record, contacts included, if it is in the viewer's scope."""
    found = store.organisations(viewer)
    found = found[found["id"] == organisation_id]
    if found.empty:
        raise CxError(f"there is no organisation {organisation_id!r} that {viewer.identity} may see")
    return found.iloc[0].to_dict()


@scoped
def update_profile(store: Store, viewer: Viewer, organisation_id: str, **changes) -> None:
    """Change the editable fields of an organisation's profile in one transaction.

    Raises NotAllowed unless the viewer is the organisation, a manager of its partnership or an
    officer; CxError naming the field for anything else wrong, leaving the profile as it was."""
    unknown = [name for name in changes if name not in EDITABLE]
    if unknown:
        raise CxError(f"{', '.join(unknown)} cannot be changed on the profile; the profile's fields are "
                      f"{', '.join(EDITABLE)}")
    ecosystems = changes.get("ecosystems")
    if ecosystems is not None and any(e not in ECOSYSTEMS for e in ecosystems):
        raise CxError(f"{', '.join(e for e in ecosystems if e not in ECOSYSTEMS)} is not one of the 14 ecosystems")
    if "contact_name" in changes:
        changes["contact_name"] = without_bidi_controls(changes["contact_name"])
    too_long = [reason for name, value in changes.items() if (reason := text_too_long(name, value))]
    if too_long:
        raise CxError("; ".join(too_long))
    email = changes.get("contact_email")
    if email and not EMAIL.fullmatch(email):
        raise CxError(f"{email!r} is not an e-mail address")
    shown_to = changes.get("looking_for_shown_to")
    if shown_to is not None and shown_to not in SHOWN_TO:
        raise CxError(f"{shown_to!r} is not a choice of who reads what we look for; the choices are "
                      f"{', '.join(SHOWN_TO)}")
    with store.transaction() as con:
        row = con.execute("SELECT partnership_id FROM organisations WHERE id = ?", [organisation_id]).fetchone()
        allowed = row is not None and (viewer.is_officer or viewer.organisation == organisation_id
                                       or (viewer.role == MANAGER and row[0] in viewer.partnerships))
        viewer.require(allowed, f"edit the profile of {organisation_id}")
        for name, value in changes.items():
            con.execute(f'UPDATE organisations SET "{name}" = ? WHERE id = ?',
                        [list(value) if name == "ecosystems" else value, organisation_id])
