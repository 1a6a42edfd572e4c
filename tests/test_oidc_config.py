"""[oidc] in recshelf.toml: validation, the role mapping, redaction, and the Streamlit child's private secrets file."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path
from typing import Any

import pytest

from storage.cli.streamlit_secrets import auth_section, streamlit_secrets_file
from storage.config_file import parse_config
from storage.stores.base import InvalidConfig

CLIENT_SECRET = "client-secret-\"quoted\"-value"
BASE: dict[str, Any] = {"server_metadata_url": "https://idp.example.test/.well-known/openid-configuration",
                        "client_id": "recshelf", "client_secret": CLIENT_SECRET,
                        "redirect_uri": "https://recshelf.example.test/oauth2callback"}


def _oidc(**extra: Any):  # noqa: ANN202
    return parse_config({"oidc": {**BASE, **extra}}).oidc


def test_roles_come_from_email_then_highest_group_then_the_default() -> None:
    oidc = _oidc(emails={"Boss@Example.test": "admin", "ed@example.test": "editor"},
                 groups={"staff": "viewer", "editors": "editor"}, default_role="viewer")
    assert oidc.role_for({"email": "boss@example.test", "groups": ["staff"]}) == "admin"
    assert oidc.role_for({"email": "ed@example.test", "groups": []}) == "editor"
    assert oidc.role_for({"email": "x@example.test", "groups": ["staff", "editors"]}) == "editor"
    assert oidc.role_for({"email": "x@example.test", "groups": "editors"}) == "editor"
    assert oidc.role_for({"sub": "someone"}) == "viewer"
    assert _oidc(groups={"staff": "viewer"}).role_for({"email": "x@example.test", "groups": ["other"]}) is None
    assert _oidc(groups_claim="roles", groups={"rec": "admin"}).role_for({"roles": ["rec"]}) == "admin"


@pytest.mark.parametrize(("extra", "says"), [
    ({"client_id": ""}, "'client_id' is required"),
    ({"redirect_uri": "https://recshelf.example.test/"}, "oauth2callback"),
    ({"server_metadata_url": "file:///etc/passwd"}, "http(s) URL"),
    ({"emails": {"a@b.test": "owner"}}, "[oidc].emails: every role"),
    ({"default_role": "root"}, "'default_role'"),
    ({"issuer_url": "x"}, "issuer_url"),
])
def test_a_bad_oidc_section_is_refused_with_a_reason(extra: dict[str, Any], says: str) -> None:
    with pytest.raises(InvalidConfig) as caught:
        _oidc(**extra)
    assert says in str(caught.value) and CLIENT_SECRET not in str(caught.value)


def test_an_issuer_names_its_discovery_document() -> None:
    table = {k: v for k, v in BASE.items() if k != "server_metadata_url"}
    oidc = parse_config({"oidc": {**table, "issuer": "https://idp.example.test/realms/x/"}}).oidc
    assert oidc.server_metadata_url == "https://idp.example.test/realms/x/.well-known/openid-configuration"


def test_the_client_and_cookie_secrets_are_redacted() -> None:
    config = parse_config({"oidc": {**BASE, "cookie_secret": "cookie-secret-value"}})
    assert CLIENT_SECRET not in repr(config.oidc)
    assert config.redact(f"{CLIENT_SECRET} cookie-secret-value") == "*** ***"


def test_the_secrets_file_is_private_parses_and_is_removed(tmp_path: Path) -> None:
    oidc = _oidc()
    with streamlit_secrets_file(oidc, "media-secret") as path:
        assert path is not None
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        auth = tomllib.loads(path.read_text())["auth"]
    assert not path.exists() and not path.parent.exists()
    assert auth["client_secret"] == CLIENT_SECRET and auth["redirect_uri"] == BASE["redirect_uri"]
    assert len(auth["cookie_secret"]) == 64  # derived from the media secret: stable across restarts
    assert auth_section(oidc, "media-secret") == auth_section(oidc, "media-secret")
    assert auth_section(oidc, "other") != auth_section(oidc, "media-secret")
    with streamlit_secrets_file(None, "media-secret") as nothing:
        assert nothing is None
