"""Who is asking, and what their role lets them see and do.

Every query and action of `cx` that reads or writes rows of organisations, exchanges or contacts
takes a `Viewer` (no default: a caller that forgot it fails instead of seeing everything). Queries
narrow their rows in SQL with the viewer's scope; actions refuse with `NotAllowed`, a sentence
naming the person, the role and what it may not do.

    officer              everything, across all partnerships; manages accounts
    partnership_manager  the organisations of their partnership(s) with contacts, the exchanges
                         whose visitor or host is theirs; approves only where the visitor is theirs
    organisation         its own profile and exchanges; requests exchanges for itself only
    planner              budget scenarios and programme figures; no personal data, no rows
"""

from __future__ import annotations

import contextvars
import getpass
import inspect
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from typing import Iterator

from cx.errors import CxError

OFFICER, MANAGER, ORGANISATION, PLANNER = "officer", "partnership_manager", "organisation", "planner"
ROLES = (OFFICER, MANAGER, ORGANISATION, PLANNER)
CONTACT_COLUMNS = ("contact_name", "contact_email")


class NotAllowed(CxError):
    """Something the viewer's role or scope does not allow."""

    def __init__(self, viewer: Viewer, what: str):
        self.viewer = viewer
        super().__init__(f"{viewer.identity} ({viewer.describe()}) may not {what}")


@dataclass(frozen=True)
class Viewer:
    """The person asking: a role, its scope (partnership ids or one organisation id) and the
    identity recorded as `changed_by` in the audit trail and on imports."""

    role: str
    identity: str
    partnerships: tuple[str, ...] = ()
    organisation: str | None = None

    def __post_init__(self):
        if self.role not in ROLES:
            raise CxError(f"{self.role!r} is not a role; the roles are {', '.join(ROLES)}")
        if not str(self.identity).strip():
            raise CxError("a viewer needs an identity: the audit trail records who did what")
        object.__setattr__(self, "partnerships", tuple(self.partnerships))
        if self.role == MANAGER and not self.partnerships:
            raise CxError(f"the partnership manager {self.identity} needs at least one partnership")
        if self.role == ORGANISATION and not self.organisation:
            raise CxError(f"the organisation account {self.identity} needs the id of its organisation")

    @classmethod
    def local(cls) -> Viewer:
        """The person at this machine when no identity provider is configured: an officer."""
        return cls(OFFICER, f"{getpass.getuser()} (local officer)")

    def describe(self) -> str:
        """The role and scope in words, e.g. 'partnership manager of P01, P02'."""
        if self.role == MANAGER:
            return f"partnership manager of {', '.join(self.partnerships)}"
        if self.role == ORGANISATION:
            return f"organisation {self.organisation}"
        return self.role

    # --- what the role may do ------------------------------------------------------------------

    @property
    def is_officer(self) -> bool:
        return self.role == OFFICER

    @property
    def reads_rows(self) -> bool:
        """Whether the role sees rows of organisations and exchanges, with the contacts of those in
        its scope (the planner sees figures only)."""
        return self.role != PLANNER

    def require(self, allowed: bool, what: str) -> None:
        """Raise NotAllowed saying `what` unless `allowed`."""
        if not allowed:
            raise NotAllowed(self, what)

    def require_officer(self, what: str) -> None:
        self.require(self.is_officer, what)

    def require_rows(self, what: str = "see organisations or exchanges (programme figures only)") -> None:
        self.require(self.reads_rows, what)

    def may_request_for(self, visitor_partnership: str | None, visitor_id: str) -> bool:
        """Whether the viewer may request an exchange for this visitor."""
        return (self.is_officer or (self.role == MANAGER and visitor_partnership in self.partnerships)
                or (self.role == ORGANISATION and visitor_id == self.organisation))

    def sees_exchange(self, visitor: tuple[str, str | None], host: tuple[str, str | None]) -> bool:
        """Whether an exchange between `visitor` and `host` ((id, partnership) each) is in scope:
        the same rows `exchange_scope` selects."""
        if self.role == MANAGER:
            return visitor[1] in self.partnerships or host[1] in self.partnerships
        if self.role == ORGANISATION:
            return self.organisation in (visitor[0], host[0])
        return self.is_officer

    def may_move(self, to_status: str, visitor: tuple[str, str | None], host: tuple[str, str | None]) -> bool:
        """Whether the viewer may move an exchange between `visitor` and `host` ((id, partnership)
        each) to `to_status`. A manager moves exchanges whose visitor or host is theirs, but
        approves only where the visitor is theirs (the visitor's partnership pays the lump sum);
        an organisation may only cancel its own."""
        if self.is_officer:
            return True
        if self.role == MANAGER and to_status == "approved":
            return visitor[1] in self.partnerships
        if self.role == ORGANISATION and to_status != "cancelled":
            return False
        return self.sees_exchange(visitor, host)

    def speaks_for(self, party: str, visitor: tuple[str, str | None], host: tuple[str, str | None]) -> bool:
        """Whether the viewer acts as `party` of an exchange between `visitor` and `host` ((id,
        partnership) each): the visitor or host organisation itself, or that side's partnership
        through its managers. An officer may act for any party (a signature received on paper)."""
        if self.is_officer:
            return True
        if self.role == ORGANISATION:
            return (party, self.organisation) in (("visitor", visitor[0]), ("host", host[0]))
        if self.role == MANAGER:
            side = {"visitor_partnership": visitor, "host_partnership": host}.get(party)
            return side is not None and side[1] in self.partnerships
        return False

    # --- scope as SQL --------------------------------------------------------------------------

    def organisation_scope(self, alias: str = "o", prefix: str = "viewer_") -> tuple[str, dict]:
        """A condition on `organisations {alias}` and its parameters: the organisations whose rows
        (and contacts) the viewer may read."""
        return self._scope(f"{alias}.id", f"{alias}.partnership_id", prefix)

    def exchange_scope(self, visitor: str = "v", host: str = "h", prefix: str = "viewer_") -> tuple[str, dict]:
        """A condition on an exchange joined with its visitor `{visitor}` and host `{host}`: the
        exchanges whose visitor or host is in the viewer's scope."""
        return self.exchange_scope_of(f"{visitor}.id", f"{visitor}.partnership_id", f"{host}.id",
                                      f"{host}.partnership_id", prefix)

    def exchange_scope_of(self, visitor_id: str, visitor_partnership: str, host_id: str, host_partnership: str,
                          prefix: str = "viewer_") -> tuple[str, dict]:
        """`exchange_scope` on a table that holds both sides' ids and partnerships in these columns."""
        visitor_side, parameters = self._scope(visitor_id, visitor_partnership, prefix)
        host_side, _ = self._scope(host_id, host_partnership, prefix)
        if visitor_side in ("TRUE", "FALSE"):
            return visitor_side, parameters
        return f"({visitor_side} OR {host_side})", parameters

    def _scope(self, id_column: str, partnership_column: str, prefix: str) -> tuple[str, dict]:
        if self.is_officer:
            return "TRUE", {}
        if self.role == MANAGER:
            return f"{partnership_column} = ANY(${prefix}partnerships)", {
                f"{prefix}partnerships": list(self.partnerships)}
        if self.role == ORGANISATION:
            return f"{id_column} = ${prefix}organisation", {f"{prefix}organisation": self.organisation}
        return "FALSE", {}


# --- whose work a query is (PostgreSQL's row-level security reads it) -----------------------------

SYSTEM = "system"  # cx's own work: migrations, the demo, a copy, sending mail, programme figures
_scope: contextvars.ContextVar[Viewer | str | None] = contextvars.ContextVar("cx_scope", default=None)


def current_scope() -> Viewer | str | None:
    """The viewer whose work this is, SYSTEM, or None (nobody: on PostgreSQL a query sees nothing)."""
    return _scope.get()


@contextmanager
def acting_as(scope: Viewer | str | None) -> Iterator[None]:
    """Run the block as `scope`'s work. On PostgreSQL the store gives every transaction of the block
    that scope (`set_config(..., true)`), and row-level security lets it see only the viewer's rows:
    a safety net under cx's own scoping, which stays the source of meaning. SYSTEM work runs on the
    tables' owner's connection, which row-level security does not narrow."""
    token = _scope.set(scope)
    try:
        yield
    finally:
        _scope.reset(token)


def work_as(scope: Viewer | str | None) -> None:
    """Make `scope` the current one for the rest of this context (a page's script run, whose viewer
    `cx.ui.login` decides each run)."""
    _scope.set(scope)


def as_system():
    """`acting_as(SYSTEM)`: work that reads or writes every row on purpose."""
    return acting_as(SYSTEM)


def scoped(function):
    """Run `function(..., viewer, ...)` as its viewer's work (see `acting_as`)."""
    position = list(inspect.signature(function).parameters).index("viewer")

    @wraps(function)
    def run(*args, **kwargs):
        with acting_as(kwargs["viewer"] if "viewer" in kwargs else args[position]):
            return function(*args, **kwargs)

    return run


def scope_settings(scope: Viewer | str | None) -> dict[str, str | list[str]]:
    """What PostgreSQL's policies read of a scope: `cx.role`, `cx.partnerships`, `cx.organisation`."""
    if isinstance(scope, Viewer):
        return {"cx.role": scope.role, "cx.partnerships": list(scope.partnerships),
                "cx.organisation": scope.organisation or ""}
    return {"cx.role": scope or "", "cx.partnerships": [], "cx.organisation": ""}
