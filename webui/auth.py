"""Optional password gate: with RECSHELF_UI_PASSWORD set, nothing else renders before login.

With `[users.NAME]` in recshelf.toml the gate asks for a user name and password instead (webui/access.py).
"""

from __future__ import annotations

import hashlib
import hmac
import time

import streamlit as st

from webui import access
from webui.services import current_settings

FAILED_LOGIN_DELAY_S = 1.0  # slows guessing without a lockout that a typo could trigger


def configured_password() -> str | None:
    return current_settings().ui_password


def _digest(text: str) -> bytes:
    # Compare digests so the comparison time does not depend on the password's length.
    return hashlib.sha256(text.encode()).digest()


def require_login() -> bool:
    """True when the page may render; otherwise shows the login form (and only it)."""
    if access.users_configured():
        return access.require_user_login()
    password = configured_password()
    if password is None:
        return True
    if logged_in():
        with st.sidebar:
            if st.button("Log out"):
                st.session_state.pop("_recshelf_authed", None)
                st.rerun()
        return True
    st.title("recshelf")
    with st.form("login"):
        typed = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        if hmac.compare_digest(_digest(typed), _digest(password)):
            # The digest, not the password, stays in the session state.
            st.session_state["_recshelf_authed"] = _digest(password)
            st.rerun()
        time.sleep(FAILED_LOGIN_DELAY_S)
        st.error("Wrong password.")
    return False


def logged_in() -> bool:
    """True when no password is set or this session has logged in; renders nothing.

    A second lock for pages that change things (Record): app.py's gate covers every page as long as
    the page scripts stay out of a folder named pages/, which Streamlit would serve without app.py.
    """
    if access.users_configured():
        return access.session_actor() is not None
    password = configured_password()
    return password is None or st.session_state.get("_recshelf_authed") == _digest(password)
