"""The people the tests act as: one viewer per role (and scope) on the template and demo data."""

from cx.access import Viewer

OFFICER = Viewer("officer", "olga.officer@example.org")
PLANNER = Viewer("planner", "pia.planner@example.org")


def manager(*partnerships: str) -> Viewer:
    return Viewer("partnership_manager", f"manager.{'.'.join(partnerships).lower()}@example.org", partnerships)


def organisation(organisation_id: str) -> Viewer:
    return Viewer("organisation", f"{organisation_id.lower()}@example.org", organisation=organisation_id)
