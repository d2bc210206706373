"""Accounts: who may use cx, in which role and scope. The identity provider says who someone is
(an e-mail address or its subject id); the `accounts` table says what they may do."""

from __future__ import annotations

import pandas as pd

from cx.access import MANAGER, ORGANISATION, ROLES, Viewer, as_system, scoped
from cx.errors import CxError
from cx.outbox import notify
from cx.store import Store


class UnknownAccount(CxError):
    def __init__(self, login):
        super().__init__(f"there is no account {login!r}")


def login_key(login: str) -> str:
    """Logins compare as the provider may spell them: e-mail addresses without case."""
    login = str(login or "").strip()
    if not login:
        raise CxError("an account needs an e-mail address or an identity provider's subject id")
    return login.lower() if "@" in login else login


@scoped
def add_account(store: Store, viewer: Viewer, login: str, role: str, *, partnerships=(),
                organisation_id: str | None = None) -> Viewer:
    """Add or replace an account (officers only); returns the viewer it will log in as.

    The scope is checked inside the write: the partnerships or the organisation must exist."""
    viewer.require_officer("manage accounts")
    login = login_key(login)
    if role not in ROLES:
        raise CxError(f"{role!r} is not a role; the roles are {', '.join(ROLES)}")
    partnerships = tuple(partnerships) if role == MANAGER else ()
    organisation_id = organisation_id if role == ORGANISATION else None
    account = Viewer(role, login, partnerships, organisation_id)
    with store.transaction() as con:
        known = {r[0] for r in con.execute("SELECT id FROM partnerships WHERE id = ANY(?)",
                                           [list(partnerships)]).fetchall()}
        unknown = [p for p in partnerships if p not in known]
        if unknown:
            raise CxError(f"the account {login} names the partnership {', '.join(unknown)}, which cx does not hold")
        if organisation_id and not con.execute("SELECT count(*) FROM organisations WHERE id = ?",
                                                [organisation_id]).fetchone()[0]:
            raise CxError(f"the account {login} names the organisation {organisation_id!r}, which cx does not hold")
        con.execute("DELETE FROM accounts WHERE login = ?", [login])
        insert_account(con, login, role, partnerships, organisation_id, viewer.identity)
        notify(con, login, "Your ClusterXchange account",
               f"{viewer.identity} gave you an account in cx: you log in as {account.describe()}.", by=viewer.identity)
    return account


def insert_account(con, login: str, role: str, partnerships, organisation_id: str | None, added_by: str) -> None:
    """Write an account row inside the caller's transaction (which has checked its scope)."""
    con.execute("INSERT INTO accounts (login, role, partnerships, organisation_id, added_by) VALUES (?, ?, ?, ?, ?)",
                [login, role, list(partnerships), organisation_id, added_by])


@scoped
def list_accounts(store: Store, viewer: Viewer) -> pd.DataFrame:
    """Every account, by login (officers only)."""
    viewer.require_officer("see the accounts")
    return store.query("SELECT login, role, partnerships, organisation_id, active, added_at, added_by "
                       "FROM accounts ORDER BY login")


@scoped
def remove_account(store: Store, viewer: Viewer, login: str) -> None:
    """Remove an account (officers only); an officer cannot remove their own, so that cx never
    locks out the last person who can add accounts by mistake."""
    viewer.require_officer("manage accounts")
    login = login_key(login)
    if login == viewer.identity:
        raise CxError(f"{login} cannot remove their own account; ask another officer")
    with store.transaction() as con:
        if not con.execute("SELECT count(*) FROM accounts WHERE login = ?", [login]).fetchone()[0]:
            raise UnknownAccount(login)
        con.execute("DELETE FROM accounts WHERE login = ?", [login])


@as_system()
def viewer_for(store: Store, *logins: str | None) -> Viewer | None:
    """The viewer of the first active account among `logins` (the provider's e-mail, then its
    subject), or None when the person has no account in cx."""
    for login in logins:
        if not login:
            continue
        row = store.query("SELECT login, role, partnerships, organisation_id FROM accounts "
                          "WHERE login = ? AND active", [login_key(login)])
        if len(row):
            account = row.iloc[0]
            return Viewer(account["role"], account["login"], tuple(account["partnerships"]),
                          account["organisation_id"])
    return None


@as_system()
def officers(store: Store) -> list[str]:
    """The logins of the active officers: whom someone without an account should ask."""
    return store.query("SELECT login FROM accounts WHERE role = 'officer' AND active ORDER BY login")["login"].tolist()
