"""The web UI's use of users and roles (storage/service/users.py): who is logged in, and each handler's check.

Three modes, simplest first: no password (127.0.0.1 only: everyone is the local admin); the single shared
password RECSHELF_UI_PASSWORD (whoever knows it is admin); `[users.NAME]` in recshelf.toml (a name and
password per person, each with a role). In users mode with the recshelf server beside the UI the login
happens on the server's /login, whose signed HttpOnly cookie names the user (storage/signing.py
`make_user_session`), so reloads and new tabs stay logged in as that user; without a server a form logs
in this browser tab only. Every action handler goes through `attempt`, which checks the
role where the action runs and records a refusal in the audit trail. Buttons stay enabled for roles that
may not use them (pages say which role is needed): a disabled widget's click never reaches the script, so
the attempt could not be audited.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TypeVar

import streamlit as st

from storage.errors import Forbidden
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.service.notes import Notes
from storage.service.users import ADMIN, Actor, authenticate
from storage.settings import UserEntry
from storage.signing import SESSION_COOKIE, session_user
from webui import oidc, services
from webui.server_links import log_out_control, server_login_link

SESSION_USER = "_recshelf_user"  # the logged-in user's name; the role is read from recshelf.toml on each rerun
FAILED_LOGIN_DELAY_S = 1.0
T = TypeVar("T")


def users() -> Mapping[str, UserEntry]:
    return services.current_settings().users


def users_configured() -> bool:
    return bool(users())


def _cookie_user() -> str | None:
    """The user the server's session cookie names, if it is signed with that user's current password hash."""
    secret = services.current_settings().media_secret
    if not secret:
        return None
    known = users()

    def credential_of(name: str) -> str | None:
        user = known.get(name)
        return user.password_hash if user is not None else None

    return session_user(secret, st.context.cookies.get(SESSION_COOKIE), credential_of)


def session_actor() -> Actor | None:
    """The logged-in user, with the role recshelf.toml gives now (a removed user is logged out)."""
    user = users().get(st.session_state.get(SESSION_USER) or _cookie_user() or "")
    return Actor(user.name, user.role, "ui") if user is not None else None


def current_actor() -> Actor | None:
    """Who this session acts as; None when users (or single sign-on) are configured and nobody has logged in."""
    if oidc.configured():
        return oidc.actor()
    if users_configured():
        return session_actor()
    shared = services.current_settings().ui_password is not None
    return Actor("shared password" if shared else "local", ADMIN, "ui")


def may(action: str) -> bool:
    """For what a page says or shows; handlers call `attempt`."""
    actor = current_actor()
    return actor is not None and actor.may(action)


def require_user_login() -> bool:
    """True when a user is logged in (with a log-out button in the sidebar); otherwise shows the login form."""
    actor = session_actor()
    if actor is not None:
        with st.sidebar:
            st.caption(f"Logged in as **{services.md_text(actor.name)}** ({actor.role})")
            log_out_control(SESSION_USER not in st.session_state, SESSION_USER)
        return True
    st.title("recshelf")
    if server_login_link("Log in with your recshelf user name and password."):
        return False
    with st.form("user_login"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        found = authenticate(users(), name.strip(), password)
        if found is not None:
            st.session_state[SESSION_USER] = found.name
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY_S)
        st.error("Wrong user name or password.")
    return False


@st.cache_resource(show_spinner=False, max_entries=4)
def database(folder: str) -> Database:
    return Database(folder)


def _db() -> Database:
    return database(str(services.current_settings().data_dir().absolute()))


def trail() -> AuditTrail:
    return AuditTrail(_db())


def notes() -> Notes:
    return Notes(_db())


def attempt(action: str, run: Callable[[Actor], T], *, store: str = "", target: str = "") -> T | None:
    """Run an action handler as the current actor: a role that may not is refused here, audited, and told."""
    actor = current_actor()
    if actor is None:
        st.error("Log in first.")
        return None
    try:
        trail().authorize(actor, action, store=store, target=target)
        return run(actor)
    except Forbidden as exc:
        st.error(f"Refused: {services.md_text(str(exc))}. The attempt is recorded in the audit trail.")
        return None
