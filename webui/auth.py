"""Optional password gate: with RECSHELF_UI_PASSWORD set, nothing else renders before login.

With the recshelf server beside the UI (`recshelf ui`, `recshelf demo`), logging in happens on the
server's /login page (storage/server/login.py), which sets a signed, expiring, HttpOnly cookie for
this host; browsers send it to every port of the host, so each page load here reads it from
`st.context.cookies` and checks its signature: reloads and new tabs stay logged in until logout
or expiry. Without a server, a form logs in this browser tab only.
With `[users.NAME]` in recshelf.toml the gate asks for a user name and password instead (webui/access.py);
with [oidc] it signs in through the identity provider (webui/oidc.py), which takes precedence.
"""

from __future__ import annotations

import hashlib
import time

import streamlit as st

from storage.signing import SESSION_COOKIE, password_matches, session_valid
from webui import access, oidc
from webui.server_links import log_out_control, server_login_link
from webui.services import current_settings

FAILED_LOGIN_DELAY_S = 1.0  # slows guessing without a lockout that a typo could trigger
_TAB_LOGIN = "_recshelf_authed"


def configured_password() -> str | None:
    return current_settings().ui_password


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def _cookie_login(password: str) -> bool:
    secret = current_settings().media_secret
    return bool(secret) and session_valid(secret, password, st.context.cookies.get(SESSION_COOKIE))


def require_login() -> bool:
    """True when the page may render; otherwise shows the way to log in (and only it)."""
    if oidc.configured():
        return oidc.require_login()
    if access.users_configured():
        return access.require_user_login()
    password = configured_password()
    if password is None:
        return True
    if logged_in():
        with st.sidebar:
            log_out_control(_cookie_login(password), _TAB_LOGIN)
        return True
    st.title("recshelf")
    if server_login_link("This recshelf is protected by a password."):
        return False
    with st.form("login"):
        typed = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if password_matches(typed, password):
            # The digest, not the password, stays in the session state.
            st.session_state[_TAB_LOGIN] = _digest(password)
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY_S)
        st.error("Wrong password.")
    return False


def logged_in() -> bool:
    """True when no password is set, the browser holds a valid session cookie, or this tab logged in.

    A second lock for pages that change things (Record): app.py's gate covers every page as long as
    the page scripts stay out of a folder named pages/, which Streamlit would serve without app.py.
    """
    if oidc.configured():
        return oidc.actor() is not None
    if access.users_configured():
        return access.session_actor() is not None
    password = configured_password()
    if password is None or st.session_state.get(_TAB_LOGIN) == _digest(password):
        return True
    return _cookie_login(password)
