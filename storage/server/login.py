"""`GET/POST /login`, `GET/POST /logout`: the web UI's login that lasts across reloads and tabs.

Streamlit cannot set an HttpOnly cookie, but this server runs on the same host, and browsers share
cookies per host whatever the port. So the UI's login gate links here; a right password gets a
signed, expiring, HttpOnly session cookie (storage/signing.py `make_session`) and a redirect back to
the UI, which checks the cookie on each page load (webui/auth.py). ``next`` may only lead back to
this same host (any port), so the form is no open redirect. With `[users.NAME]` in recshelf.toml the
form asks for a user name too, checks it with argon2 (storage/service/users.py) and the cookie names
that user (storage/signing.py `make_user_session`), read by webui/access.py. With neither configured the
routes say so and set nothing. With `[oidc]` (single sign-on) the UI ignores this cookie, so a password login
here would only mislead: /login answers 404 with a page pointing to the UI's sign-in through the identity
provider, and never sets a cookie, whatever `[users]` holds.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from storage.service.users import authenticate
from storage.settings import Settings
from storage.signing import SESSION_COOKIE, SESSION_TTL_S, make_session, make_user_session, password_matches

FAILED_LOGIN_DELAY_S = 1.0  # slows guessing without a lockout that a typo could trigger
MAX_FORM_BYTES = 8192

_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>recshelf · log in</title>
<link rel="icon" href="data:,"><style>body{{font-family:sans-serif;max-width:26em;margin:4em auto;padding:0 1em}}
input,button{{font-size:1em;padding:.4em;margin:.3em 0;width:100%;box-sizing:border-box}}
.error{{color:#b00020}}</style></head><body><h1>recshelf</h1>{message}
<form method="post" action="/login">{user_field}<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" autofocus required>
<input type="hidden" name="next" value="{next}"><button type="submit">Log in</button></form>
<p><small>The login lasts {hours} hours in this browser, for every tab, until you log out.</small></p>
</body></html>"""
_SSO_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>recshelf · sign in</title>
<link rel="icon" href="data:,"><style>body{{font-family:sans-serif;max-width:26em;margin:4em auto;padding:0 1em}}
</style></head><body><h1>recshelf</h1><p>This server signs people in through the identity provider
(single sign-on), not with a password here.</p><p><a href="{ui}">Sign in on the recshelf web UI</a></p>
</body></html>"""
_USER_FIELD = """<label for="user">User name</label>
<input id="user" name="user" autocomplete="username" required>"""


def safe_next(request: Request, wanted: str | None) -> str:
    """`wanted` when it leads to this host (any port), else "/": never an open redirect."""
    if not wanted:
        return "/"
    parts = urlsplit(wanted)
    if not parts.scheme and not parts.netloc and wanted.startswith("/") and not wanted.startswith("//"):
        return wanted
    if parts.scheme in ("http", "https") and parts.hostname == request.url.hostname:
        return wanted
    return "/"


def login_router(settings: Callable[[], Settings]) -> APIRouter:
    router = APIRouter()

    def page(next_url: str, message: str = "", status: int = 200) -> HTMLResponse:
        user_field = _USER_FIELD if settings().users else ""
        return HTMLResponse(_PAGE.format(message=message, next=html.escape(next_url, quote=True), user_field=user_field,
                                         hours=SESSION_TTL_S // 3600), status_code=status,
                            headers={"Cache-Control": "no-store"})

    def sso_page(request: Request, next_url: str) -> HTMLResponse:
        oidc = settings().oidc
        assert oidc is not None
        # The registered redirect URI is the UI's own http(s)://host:port/oauth2callback: its origin is the UI,
        # unless it is a template (a "{port}" left in it); then where the UI sent the browser from.
        parts = urlsplit(oidc.redirect_uri)
        ui = f"{parts.scheme}://{parts.netloc}/" if "{" not in parts.netloc else safe_next(request, next_url)
        return HTMLResponse(_SSO_PAGE.format(ui=html.escape(ui, quote=True)), status_code=404,
                            headers={"Cache-Control": "no-store"})

    @router.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "") -> Response:  # noqa: A002 - the usual name
        if settings().oidc is not None:
            return sso_page(request, next)
        if not settings().ui_password and not settings().users:
            return RedirectResponse(safe_next(request, next), status_code=303)
        return page(safe_next(request, next))

    @router.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        current = settings()
        if current.oidc is not None:  # read nothing of the form: no password is checked, no cookie set
            return sso_page(request, "")
        password, secret = current.ui_password, current.media_secret
        body = (await request.body())[:MAX_FORM_BYTES]
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", errors="replace")).items()}
        next_url = safe_next(request, form.get("next"))
        if not (password or current.users) or not secret:
            return page(next_url, "<p class=error>Logins are not configured on this server.</p>", 503)
        if current.users:
            actor = authenticate(current.users, form.get("user", "").strip(), form.get("password", ""))
            token = make_user_session(secret, actor.name, current.users[actor.name].password_hash) if actor else None
        else:
            token = make_session(secret, password) if password_matches(form.get("password", ""), password) else None
        if token is None:
            time.sleep(FAILED_LOGIN_DELAY_S)
            wrong = "Wrong user name or password." if current.users else "Wrong password."
            return page(next_url, f"<p class=error role=alert>{wrong}</p>", 401)
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=SESSION_TTL_S, path="/",
                            httponly=True, samesite="lax", secure=request.url.scheme == "https")
        return response

    @router.api_route("/logout", methods=["GET", "POST"], include_in_schema=False)
    def logout(request: Request, next: str = "") -> Response:  # noqa: A002
        response = RedirectResponse(safe_next(request, next), status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
        return response

    return router
