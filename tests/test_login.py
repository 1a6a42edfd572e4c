"""The UI's login that lasts: signed, expiring session tokens and the server's /login and /logout."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.server.app import create_app
from storage.server.login import login_router
from storage.service.users import hash_password
from storage.settings import Settings
from storage.signing import (
    SESSION_COOKIE,
    make_session,
    make_user_session,
    password_matches,
    session_user,
    session_valid,
)

SECRET = "login-test-media-secret"
PASSWORD = "login-test-password"


def test_session_tokens_expire_and_bind_secret_and_password() -> None:
    token = make_session(SECRET, PASSWORD, ttl_s=60, now=1000)
    assert session_valid(SECRET, PASSWORD, token, now=1059)
    assert not session_valid(SECRET, PASSWORD, token, now=1061)
    assert not session_valid(SECRET, "changed password", token, now=1000)
    assert not session_valid("other secret", PASSWORD, token, now=1000)
    exp = token.split(".")[1]
    assert not session_valid(SECRET, PASSWORD, token.replace(f".{exp}.", f".{int(exp) + 9999}.", 1), now=1000)
    for junk in (None, "", "v1", "v1.x.y.z", "a" * 500, token + "0"):
        assert not session_valid(SECRET, PASSWORD, junk, now=1000)
    assert make_session(SECRET, PASSWORD) != make_session(SECRET, PASSWORD)  # a nonce in each
    assert password_matches(PASSWORD, PASSWORD) and not password_matches("x", PASSWORD)


def _login_client(monkeypatch: pytest.MonkeyPatch, config: Path, config_text: str) -> TestClient:
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", SECRET)
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    config.write_text(config_text)
    app = FastAPI()
    app.include_router(login_router(Settings.load))
    return TestClient(app, base_url="http://127.0.0.1:8700")


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestClient:
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    return _login_client(monkeypatch, tmp_path / "none.toml", "")


def test_login_sets_an_httponly_cookie_and_returns_to_the_ui(client: TestClient) -> None:
    form = client.get("/login", params={"next": "http://127.0.0.1:8501/browse"})
    assert form.status_code == 200 and 'type="password"' in form.text and "12 hours" in form.text
    got = client.post("/login", data={"password": PASSWORD, "next": "http://127.0.0.1:8501/browse"},
                      follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"] == "http://127.0.0.1:8501/browse"
    cookie = got.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Max-Age=43200" in cookie and PASSWORD not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert session_valid(SECRET, PASSWORD, token)
    out = client.post("/logout", params={"next": "http://127.0.0.1:8501/"}, follow_redirects=False)
    assert out.status_code == 303 and f'{SESSION_COOKIE}=""' in out.headers["set-cookie"]


@pytest.mark.parametrize("evil", ["https://evil.test/", "//evil.test/x", "http://127.0.0.2:8501/", "javascript:x"])
def test_login_never_redirects_off_this_host(client: TestClient, evil: str) -> None:
    got = client.post("/login", data={"password": PASSWORD, "next": evil}, follow_redirects=False)
    assert got.headers["location"] == "/"


def test_wrong_password_is_refused_slowly(client: TestClient) -> None:
    started = time.monotonic()
    got = client.post("/login", data={"password": "guess", "next": "/"}, follow_redirects=False)
    assert got.status_code == 401 and "Wrong password" in got.text and "set-cookie" not in got.headers
    assert time.monotonic() - started >= 0.9


def test_the_api_browser_is_off(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    client = TestClient(create_app(Settings.load()))
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert client.get(path).status_code == 404, path
    assert client.get("/healthz").status_code == 200


def test_user_session_tokens_name_the_user_and_bind_their_password_hash() -> None:
    hashes = {"vera": "hash-1", "ada.b": "hash-2"}
    token = make_user_session(SECRET, "ada.b", "hash-2", ttl_s=60, now=1000)
    assert session_user(SECRET, token, hashes.get, now=1059) == "ada.b"
    assert session_user(SECRET, token, hashes.get, now=1061) is None
    assert session_user(SECRET, token, {"ada.b": "changed"}.get, now=1000) is None  # new password: logged out
    assert session_user(SECRET, token, {}.get, now=1000) is None  # removed user
    assert session_user("other secret", token, hashes.get, now=1000) is None
    forged = token.replace(b"ada.b".hex(), b"vera".hex())
    assert session_user(SECRET, forged, hashes.get, now=1000) is None
    for junk in (None, "", "u1", "u1.x.y.z.w", "u1.1.n.zz.sig", "a" * 500):
        assert session_user(SECRET, junk, hashes.get, now=1000) is None
    assert not session_valid(SECRET, "hash-2", token, now=1000)  # never taken for a shared-password session


@pytest.fixture
def users_client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> TestClient:
    monkeypatch.delenv("RECSHELF_UI_PASSWORD", raising=False)
    return _login_client(monkeypatch, tmp_path / "recshelf.toml",
                         f'[users.vera]\nrole = "viewer"\npassword_hash = "{hash_password("vera-pw")}"\n')


def test_users_mode_login_asks_for_a_name_and_the_cookie_names_the_user(users_client: TestClient) -> None:
    form = users_client.get("/login", params={"next": "/"})
    assert form.status_code == 200 and 'name="user"' in form.text and 'type="password"' in form.text
    got = users_client.post("/login", data={"user": "vera", "password": "vera-pw", "next": "/x"},
                            follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"] == "/x"
    cookie = got.headers["set-cookie"]
    assert "HttpOnly" in cookie and "vera-pw" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    settings = Settings.load()
    assert session_user(SECRET, token, lambda name: settings.users[name].password_hash) == "vera"
    for user, password in (("vera", "wrong"), ("nobody", "vera-pw"), ("", "")):
        bad = users_client.post("/login", data={"user": user, "password": password}, follow_redirects=False)
        assert bad.status_code == 401 and "Wrong user name or password." in bad.text
        assert "set-cookie" not in bad.headers


SSO = """[oidc]
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
client_id = "recshelf-ui"
client_secret = "login-test-client-secret"
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
default_role = "viewer"
"""


def test_with_sso_the_password_login_is_gone_but_shares_and_media_are_not(monkeypatch: pytest.MonkeyPatch,
                                                                         tmp_path: Path) -> None:
    """[oidc] + [users]: the UI ignores the password cookie, so /login must never hand one out."""
    from storage.signing import sign_media_url

    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", SECRET)
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
    (tmp_path / "recshelf.toml").write_text(
        SSO + f'[users.vera]\nrole = "viewer"\npassword_hash = "{hash_password("vera-pw")}"\n')
    client = TestClient(create_app(Settings.load(), reload=Settings.load), base_url="http://127.0.0.1:8700")

    form = client.get("/login", params={"next": "http://127.0.0.1:8501/browse"})
    assert form.status_code == 404 and "identity provider" in form.text
    assert 'href="http://127.0.0.1:8501/"' in form.text and 'type="password"' not in form.text
    assert "set-cookie" not in form.headers
    for data in ({"user": "vera", "password": "vera-pw", "next": "/"}, {"password": PASSWORD, "next": "/"}):
        got = client.post("/login", data=data, follow_redirects=False)
        assert got.status_code == 404 and "set-cookie" not in got.headers, got.text

    exports = tmp_path / "data" / "exports"  # /media serves as before: a signed URL of a configured root
    exports.mkdir(parents=True)
    (exports / "a.ts").write_bytes(b"x")
    media = client.get(sign_media_url("http://127.0.0.1:8700", SECRET, exports.absolute(), "a.ts", 60))
    assert media.status_code == 200 and media.content == b"x"
    unknown = client.get("/share/" + "A" * 43)  # share pages answer as before: an unknown link in words
    assert unknown.status_code in (404, 410) and "link" in unknown.text.lower()

    # A redirect URI still holding "{port}" names no UI: the link goes back where the UI sent the browser from.
    config = (tmp_path / "recshelf.toml").read_text().replace("127.0.0.1:8501", "127.0.0.1:{port}")
    (tmp_path / "recshelf.toml").write_text(config)
    form = client.get("/login", params={"next": "http://127.0.0.1:8502/browse"})
    assert form.status_code == 404 and 'href="http://127.0.0.1:8502/browse"' in form.text
