"""Single sign-on through Streamlit's own st.login / st.user / st.logout, when recshelf.toml has [oidc].

`recshelf ui` writes the provider's settings into the Streamlit child's private secrets file
(storage/cli/streamlit_secrets.py); Streamlit runs the OpenID Connect code flow (Authlib) and keeps the
identity in its own signed cookie, so the login lasts across reloads and tabs. The role is never taken
from the provider: [oidc]'s mapping (storage/config_file.py `OidcConfig.role_for`) gives it on every
rerun, so a changed mapping applies at once; a user it maps to no role sees only a refusal.
"""

from __future__ import annotations

import streamlit as st

from storage.service.users import Actor
from webui import services


def configured() -> bool:
    return services.current_settings().oidc is not None


def _claims() -> dict[str, object]:
    return st.user.to_dict() if st.user.is_logged_in else {}


def user_name(claims: dict[str, object]) -> str:
    """What the audit trail and the sidebar call this person: the e-mail, else the provider's subject id."""
    return str(claims.get("email") or claims.get("sub") or "unknown")


def actor() -> Actor | None:
    """The signed-in person with the role the mapping gives now; None when signed out or given no role."""
    oidc, claims = services.current_settings().oidc, _claims()
    if oidc is None or not claims:
        return None
    role = oidc.role_for(claims)
    return Actor(user_name(claims), role, "ui") if role else None


def require_login() -> bool:
    """True when a mapped user is signed in (with a log-out button); otherwise the way to sign in, only it."""
    found = actor()
    if found is not None:
        with st.sidebar:
            st.caption(f"Logged in as {services.md_code(found.name)} ({found.role})")  # code: no mailto link
            if st.button("Log out"):
                st.logout()
        return True
    st.title("recshelf")
    claims = _claims()
    if claims:
        st.error(f"{services.md_text(user_name(claims))} has no role in this recshelf; ask an admin to add "
                 "you to [oidc] in recshelf.toml.")
        if st.button("Log out"):
            st.logout()
        return False
    st.write("This recshelf uses single sign-on.")
    if st.button("Log in with single sign-on", type="primary"):
        st.login()
    return False
