"""Local folders: keys never escape, atomic writes, key-ordered listing, and the signed media route."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.server.media import media_router, parse_range
from storage.settings import Settings
from storage.signing import media_signature, media_store_id, sign_media_url
from storage.stores.base import InvalidConfig, NotFound, StoreError
from storage.stores.local import TEMP_MARKER, LocalStore
from tests.fixtures.local import MEDIA_SECRET, SERVED_ROOTS

BAD_KEYS = ["../outside.ts", "a/../../outside.ts", "/etc/passwd", "a\\b.ts", "a\x00b.ts", "a//b.ts",
            "./a.ts", "", "a/.", f".x{TEMP_MARKER}1"]


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    root = tmp_path / "root"
    root.mkdir()
    return LocalStore(root, media_url="http://127.0.0.1:1", media_secret="s")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_keys_cannot_escape_the_folder(store: LocalStore, key: str):
    (store.root.parent / "outside.ts").write_bytes(b"private")
    for call in (lambda: store.read(key), lambda: store.stat(key), lambda: store.open(key),
                 lambda: store.write(key, b"x"), lambda: store.delete(key), lambda: store.signed_url(key)):
        with pytest.raises(InvalidConfig, match="key"):
            call()
    assert (store.root.parent / "outside.ts").read_bytes() == b"private"


def test_symlinks_are_not_followed(store: LocalStore, caplog: pytest.LogCaptureFixture):
    # Links out of the root (a "slice" that is /etc/passwd) and to another recording's files
    # (its bytes under this one's name) are both refused like missing keys, and never listed.
    (store.root.parent / "secret.ts").write_bytes(b"private")
    (store.root / "link.ts").symlink_to(store.root.parent / "secret.ts")
    (store.root / "inner.ts").write_bytes(b"ok")
    (store.root / "alias.ts").symlink_to(store.root / "inner.ts")
    (store.root.parent / "elsewhere").mkdir()
    (store.root.parent / "elsewhere" / "x.ts").write_bytes(b"private")
    (store.root / "other").mkdir()
    (store.root / "other" / "own.ts").write_bytes(b"mine")
    (store.root / "rec").symlink_to(store.root / "other", target_is_directory=True)
    (store.root / "out").symlink_to(store.root.parent / "elsewhere", target_is_directory=True)
    (store.root / "dangling.ts").symlink_to(store.root / "nothing.ts")
    with caplog.at_level("WARNING", logger="storage.stores.local"):
        assert [o.key for o in store.list()] == ["inner.ts", "other/own.ts"]
        assert [o.key for o in store.list()] == ["inner.ts", "other/own.ts"]
        assert list(store.list("rec/")) == [] and list(store.list("out/x")) == []
    linked = ("link.ts", "alias.ts", "rec", "out", "dangling.ts")
    warned = [r.getMessage() for r in caplog.records]
    assert all(sum(f"/{name}:" in m for m in warned) == 1 for name in linked), warned  # once per link
    for key in ("link.ts", "alias.ts", "rec/own.ts", "out/x.ts", "dangling.ts"):
        assert store.stat(key) is None
        with pytest.raises(NotFound):
            store.read(key)
        with pytest.raises(NotFound):
            store.open(key)
        with pytest.raises(InvalidConfig, match="symbolic link"):
            store.write(key, b"x")
    assert (store.root.parent / "secret.ts").read_bytes() == b"private"
    assert (store.root.parent / "elsewhere" / "x.ts").read_bytes() == b"private"


def test_listing_is_in_key_order_across_folders(store: LocalStore):
    keys = ["a/b.ts", "a-c.ts", "a0.ts", "a.ts", "b/c/d.ts", "b/c.ts", "b.ts/x", "Z.ts", "é.ts"]
    for key in keys:
        store.write(key, b"x")
    assert [o.key for o in store.list()] == sorted(keys)
    assert [o.key for o in store.list("a")] == sorted(k for k in keys if k.startswith("a"))
    assert [o.key for o in store.list("b/c")] == ["b/c.ts", "b/c/d.ts"]
    assert [o.key for o in store.list("b/c/")] == ["b/c/d.ts"]


def test_listing_skips_in_progress_writes(store: LocalStore):
    store.write("seg.ts", b"whole")
    (store.root / f".seg2.ts{TEMP_MARKER}abc").write_bytes(b"half")
    assert [o.key for o in store.list()] == ["seg.ts"]


def test_listing_a_missing_folder_is_not_found(tmp_path: Path):
    store = LocalStore(tmp_path / "nope")
    with pytest.raises(NotFound, match="folder does not exist"):
        list(store.list())
    with pytest.raises(InvalidConfig):
        list(LocalStore(tmp_path).list("../x"))


def test_write_is_atomic_and_leaves_no_temp_files(store: LocalStore):
    info = store.write("deep/er/seg.ts", b"first")
    assert info.size == 5 and info.etag and info.modified is not None
    store.write("deep/er/seg.ts", b"second")
    assert (store.root / "deep/er/seg.ts").read_bytes() == b"second"
    assert sorted(p.name for p in (store.root / "deep/er").iterdir()) == ["seg.ts"]
    assert (store.root / "deep/er/seg.ts").stat().st_mode & 0o777 == 0o644


def test_a_failed_write_keeps_the_old_object(store: LocalStore):
    store.write("seg.ts", b"old")

    class Broken:
        def read(self, n: int = -1) -> bytes:
            raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        store.write("seg.ts", Broken())  # type: ignore[arg-type]
    assert store.read("seg.ts") == b"old"
    assert [p.name for p in store.root.iterdir()] == ["seg.ts"]


def test_key_conflicts_with_folders(store: LocalStore):
    store.write("a", b"file")
    with pytest.raises(StoreError, match="parent of this key is a file"):
        store.write("a/b.ts", b"x")
    store.write("d/e.ts", b"x")
    with pytest.raises(StoreError, match="folder already has this name"):
        store.write("d", b"x")


def test_delete_removes_emptied_folders(store: LocalStore):
    store.write("x/y/z.ts", b"1")
    store.write("x/keep.ts", b"1")
    store.delete("x/y/z.ts")
    assert not (store.root / "x/y").exists()
    assert (store.root / "x/keep.ts").exists()
    store.delete("x/keep.ts")
    assert list(store.root.iterdir()) == []
    assert store.root.is_dir()


def test_url_and_construction(tmp_path: Path):
    store = LocalStore.from_options("", str(tmp_path / "a b"), {})
    assert store.url == (tmp_path / "a b").as_uri() and store.url.startswith("file:///")
    with pytest.raises(InvalidConfig, match="'endpoint' does not apply"):
        LocalStore.from_options("", str(tmp_path), {"endpoint": "x"})
    with pytest.raises(InvalidConfig, match="no bucket"):
        LocalStore.from_options("bucket", str(tmp_path), {})


def test_signed_url_needs_the_media_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RECSHELF_MEDIA_URL", raising=False)
    monkeypatch.delenv("RECSHELF_MEDIA_SECRET", raising=False)
    monkeypatch.setenv("RECSHELF_CONFIG", str(_write_config(tmp_path, "")))
    store = LocalStore(tmp_path)  # no signer
    with pytest.raises(InvalidConfig, match="signing .* needs `recshelf serve`"):
        store.signed_url("a.ts")
    with pytest.raises(InvalidConfig, match="recshelf serve"):
        Settings.load().open_store(str(tmp_path)).signed_url("a.ts")
    monkeypatch.setenv("RECSHELF_MEDIA_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", "from-env")
    url = Settings.load().open_store(str(tmp_path)).signed_url("dir/a b.ts", expires_s=60)
    assert url.startswith(f"http://127.0.0.1:9/media/{media_store_id('from-env', tmp_path)}/dir/a%20b.ts?exp=")
    assert "from-env" not in url and str(tmp_path) not in url


# -- the media route (served by uvicorn on 127.0.0.1) --------------------------------------------


@pytest.fixture
def served(tmp_path: Path, media_server_url: str) -> LocalStore:
    root = tmp_path / "served"
    root.mkdir()
    SERVED_ROOTS.add(root)
    return LocalStore(root, media_url=media_server_url, media_secret=MEDIA_SECRET)


def test_media_headers_head_and_cors(served: LocalStore):
    served.write("rec/index.m3u8", b"#EXTM3U\n")
    url = served.signed_url("rec/index.m3u8")
    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == "8"
    assert head.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert head.headers["accept-ranges"] == "bytes"
    assert head.headers["access-control-allow-origin"] == "*"
    preflight = httpx.request("OPTIONS", url, headers={"Origin": "http://player.example",
                                                        "Access-Control-Request-Headers": "range"})
    assert preflight.status_code == 204
    assert "Range" in preflight.headers["access-control-allow-headers"]


def test_media_ranges(served: LocalStore):
    data = bytes(range(100))
    served.write("seg.ts", data)
    url = served.signed_url("seg.ts")
    suffix = httpx.get(url, headers={"Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == data[-10:]
    clipped = httpx.get(url, headers={"Range": "bytes=90-500"})
    assert clipped.status_code == 206 and clipped.content == data[90:]
    assert clipped.headers["content-range"] == "bytes 90-99/100"
    beyond = httpx.get(url, headers={"Range": "bytes=100-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == "bytes */100"
    multi = httpx.get(url, headers={"Range": "bytes=0-1,5-6"})
    assert multi.status_code == 200 and multi.content == data  # multipart ranges: whole object


def test_media_refuses_bad_or_expired_signatures(served: LocalStore, media_server_url: str):
    served.write("seg.ts", b"x")
    url = served.signed_url("seg.ts")
    assert httpx.get(url.replace("sig=", "sig=0")).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403
    expired = sign_media_url(media_server_url, MEDIA_SECRET, str(served.root), "seg.ts", 60,
                             now=time.time() - 3600)
    assert httpx.get(expired).status_code == 403
    other_secret = sign_media_url(media_server_url, "not-the-secret", str(served.root), "seg.ts", 60)
    assert httpx.get(other_secret).status_code == 403


def test_media_keeps_keys_inside_the_root_even_when_signed(served: LocalStore, media_server_url: str):
    (served.root.parent / "private.txt").write_bytes(b"private")
    (served.root / "link.ts").symlink_to(served.root.parent / "private.txt")
    root_id = media_store_id(MEDIA_SECRET, served.root)
    exp = int(time.time()) + 600
    for key in ("../private.txt", "link.ts", "missing.ts"):
        sig = media_signature(MEDIA_SECRET, root_id, key, exp)
        # Dots percent-encoded, or the client would remove the '..' segment before sending.
        path = key.replace(".", "%2E")
        response = httpx.get(f"{media_server_url}/media/{root_id}/{path}", params={"exp": exp, "sig": sig})
        assert response.status_code == 404, key
        assert b"private" not in response.content


def test_media_serves_a_large_file_in_chunks(served: LocalStore):
    data = os.urandom(700_000)
    served.write("big.ts", data)
    response = httpx.get(served.signed_url("big.ts"))
    assert response.status_code == 200 and response.content == data
    part = httpx.get(served.signed_url("big.ts"), headers={"Range": "bytes=300000-600000"})
    assert part.content == data[300000:600001]


def test_media_secret_from_env_else_config_as_share_links_use_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # `recshelf serve` once pinned recshelf.toml's secret on the app, so with the env var set too the
    # UI (env first) signed slice URLs the media route refused, while share links took the env's.
    config = _write_config(tmp_path, '[server]\nmedia_secret = "from-config"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.delenv("RECSHELF_MEDIA_SECRET", raising=False)
    (tmp_path / "a.ts").write_bytes(b"x")

    def client_for(settings: Settings) -> TestClient:
        app = FastAPI()
        app.include_router(media_router(settings.media_secret, [tmp_path]))
        return TestClient(app)

    def status(client: TestClient, secret: str) -> int:
        return client.get(sign_media_url("http://testserver", secret, tmp_path, "a.ts", 60)).status_code

    settings = Settings.load()
    client = client_for(settings)
    assert status(client, "from-config") == 200
    # A local store signs with the secret the route checks, resolved once by the same Settings.
    store = settings.open_store(str(tmp_path), media_url="http://testserver")
    assert client.get(store.signed_url("a.ts")).status_code == 200
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", "from-env")
    settings = Settings.load()
    client = client_for(settings)
    assert status(client, "from-env") == 200
    assert status(client, "from-config") == 403
    store = settings.open_store(str(tmp_path), media_url="http://testserver")
    assert client.get(store.signed_url("a.ts")).status_code == 200


def _old_style_url(secret: str, root: bytes, key: str) -> str:
    """A URL as the old route took it: base64 of a folder path as the root id, signed over it."""
    root_id = base64.urlsafe_b64encode(root).decode().rstrip("=")
    exp = int(time.time()) + 600
    return f"/media/{root_id}/{key}?exp={exp}&sig={media_signature(MEDIA_SECRET, root_id, key, exp)}"


def _media_client(roots: list[Path]) -> TestClient:
    app = FastAPI()
    app.include_router(media_router(MEDIA_SECRET, roots))
    return TestClient(app, raise_server_exceptions=False)


def test_media_serves_only_configured_stores_even_with_the_right_secret(tmp_path: Path):
    (tmp_path / "a.ts").write_bytes(b"x")
    client = _media_client([tmp_path])
    # Signed with the server's own secret for the root "/": once this returned /etc/passwd.
    assert client.get(_old_style_url(MEDIA_SECRET, b"/", "etc/passwd")).status_code == 404
    assert client.get(sign_media_url("", MEDIA_SECRET, "/", "etc/passwd", 60)).status_code == 404
    assert client.get(sign_media_url("", MEDIA_SECRET, tmp_path, "a.ts", 60)).status_code == 200


def test_media_root_with_a_nul_is_404_not_500(tmp_path: Path):
    client = _media_client([tmp_path])
    assert client.get(_old_style_url(MEDIA_SECRET, b"/tmp\x00x", "a.ts")).status_code == 404


def test_media_huge_range_is_416_not_500(tmp_path: Path):
    (tmp_path / "a.ts").write_bytes(b"0123456789")
    client = _media_client([tmp_path])
    url = sign_media_url("", MEDIA_SECRET, tmp_path, "a.ts", 60)
    for header in ("bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "9" * 5000):
        assert client.get(url, headers={"Range": header}).status_code == 416, header[:12]


def _write_config(folder: Path, text: str) -> Path:
    path = folder / "recshelf.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("header", "size", "expected"), [
    (None, 10, None),
    ("bytes=0-", 10, (0, 9)),
    ("bytes=2-4", 10, (2, 4)),
    ("bytes=2-400", 10, (2, 9)),
    ("bytes=-3", 10, (7, 9)),
    ("bytes=-30", 10, (0, 9)),
    ("bytes=10-", 10, "unsatisfiable"),
    ("bytes=-0", 10, "unsatisfiable"),
    ("bytes=0-", 0, "unsatisfiable"),
    ("bytes=5-2", 10, None),
    ("items=0-1", 10, None),
    ("bytes=0-1,3-4", 10, None),
])
def test_parse_range(header: str | None, size: int, expected: object):
    assert parse_range(header, size) == expected
