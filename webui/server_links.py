"""Links to the recshelf server's /login and /logout, on the host this browser used for the UI.

Browsers share cookies per host whatever the port, so the session cookie the server sets there is
this UI's too (storage/server/login.py); webui/auth.py and webui/access.py both link to it.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlsplit

import streamlit as st

from webui.services import current_settings


def server_page(path: str) -> str | None:
    """The server's `path` with ``next`` back to this page; None without a server or a media secret."""
    settings = current_settings()
    server = settings.public_url or settings.server_url
    if not server or not settings.media_secret:
        return None
    parts = urlsplit(server)
    host = (st.context.headers.get("Host") or "").rsplit(":", 1)[0]
    if not settings.public_url and host and parts.port:
        server = f"{parts.scheme}://{host}:{parts.port}"
    back = st.context.url or "/"
    return f"{server.rstrip('/')}{path}?next={quote(back, safe='')}"


def same_tab_link(url: str, text: str, css_class: str = "") -> None:
    """A link that opens in this tab (st.link_button opens a new one, and the login must come back here)."""
    klass = f' class="{css_class}"' if css_class else ""
    st.markdown(f'<a href="{html.escape(url, quote=True)}" target="_self"{klass}>{html.escape(text)}</a>',
                unsafe_allow_html=True)


def log_out_control(cookie_login: bool, tab_key: str) -> None:
    """The sidebar's log-out: the server's /logout for a cookie login, else forgetting this tab's login."""
    logout = server_page("/logout") if cookie_login else None
    if logout:
        same_tab_link(logout, "Log out")
    elif st.button("Log out"):
        st.session_state.pop(tab_key, None)
        st.rerun()


def server_login_link(intro: str) -> bool:
    """With a server beside the UI: shows the way to its login page and returns True."""
    login = server_page("/login")
    if not login:
        return False
    st.write(intro)
    same_tab_link(login, "Log in", "recshelf-login")
    st.caption("The login lasts in this browser, for every tab, until you log out or it expires.")
    return True
