"""The private secrets.toml of the Streamlit child: its `[auth]` section, built from recshelf.toml's [oidc].

Streamlit's st.login reads the provider's settings only from secrets files, so `recshelf ui` writes one
into a fresh 0700 folder (the file itself 0600), hands its path to Streamlit with `--secrets.files`,
and removes it when the UI stops. Its contents are never printed or logged.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from storage.config_file import OidcConfig, secret_value


def cookie_secret(oidc: OidcConfig, media_secret: str) -> str:
    """[oidc] cookie_secret, else one derived from the media secret (so logins outlive a restart with it)."""
    given = secret_value(oidc.cookie_secret)
    return given or hmac.new(media_secret.encode(), b"streamlit-auth-cookie", hashlib.sha256).hexdigest()


def auth_section(oidc: OidcConfig, media_secret: str) -> str:
    values = {"redirect_uri": oidc.redirect_uri, "cookie_secret": cookie_secret(oidc, media_secret),
              "client_id": oidc.client_id, "client_secret": secret_value(oidc.client_secret) or "",
              "server_metadata_url": oidc.server_metadata_url}
    # A JSON string is a valid TOML basic string (same escapes), so no TOML writer is needed.
    return "[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


@contextmanager
def streamlit_secrets_file(oidc: OidcConfig | None, media_secret: str) -> Iterator[Path | None]:
    """The path of a private secrets.toml for the UI's lifetime; None without [oidc]."""
    if oidc is None:
        yield None
        return
    folder = Path(tempfile.mkdtemp(prefix="recshelf-ui-"))  # mkdtemp makes it 0700
    try:
        path = folder / "secrets.toml"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(auth_section(oidc, media_secret))
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)
