"""open_store: URLs, plain paths and profiles to adapters; secrets refused in URLs; missing SDKs explained."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from storage.settings import PROFILE_OPTIONS, Settings, parse_config
from storage.stores import registry
from storage.stores.base import InvalidConfig
from storage.stores.local import LocalStore
from storage.stores.registry import open_store, parse_store_url
from storage.stores.s3 import S3Store


def test_parse_bucket_urls():
    loc = parse_store_url("s3://recordings/a%20b/2024?endpoint=http://127.0.0.1:9000&region=us-west-2")
    assert (loc.scheme, loc.bucket, loc.prefix) == ("s3", "recordings", "a b/2024")
    assert dict(loc.options) == {"endpoint": "http://127.0.0.1:9000", "region": "us-west-2"}
    assert parse_store_url("oss://b").prefix == ""
    assert parse_store_url("QINIU://b/p/").prefix == "p/"


def test_parse_local_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_store_url("file:///srv/rec%20s").prefix == "/srv/rec s"
    assert parse_store_url("file://localhost/srv").prefix == "/srv"
    assert parse_store_url("relative/folder").prefix == "relative/folder"
    assert parse_store_url("~/rec").prefix == str(tmp_path / "rec")
    assert parse_store_url("/abs").scheme == "file"


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty store URL"),
    ("ftp://host/x", "unknown store scheme 'ftp'"),
    ("s3:///no-bucket", "no bucket"),
    ("file://otherhost/x", "only local file URLs"),
    ("s3://b?colour=blue", "unknown key 'colour'"),
])
def test_bad_urls(url: str, message: str):
    with pytest.raises(InvalidConfig, match=message):
        parse_store_url(url)


@pytest.mark.parametrize("url", [
    "s3://AKIDEXAMPLE:wJalrXUtnFEMI@bucket/prefix",
    "s3://bucket/prefix?secret_key=wJalrXUtnFEMI",
    "oss://bucket?session_token=wJalrXUtnFEMI",
    "file:///srv?media_secret=wJalrXUtnFEMI",
])
def test_secrets_in_urls_are_refused_without_echoing_them(url: str):
    with pytest.raises(InvalidConfig) as err:
        open_store(url)
    assert "wJalrXUtnFEMI" not in str(err.value)
    assert "profile" in str(err.value)


def test_plain_path_opens_a_local_store(tmp_path: Path):
    store = Settings(parse_config({})).open_store(str(tmp_path))
    assert isinstance(store, LocalStore)
    assert store.url == tmp_path.as_uri()
    assert isinstance(open_store(tmp_path.as_uri()), LocalStore)


def test_s3_url_with_query_options(s3_server_url: str):
    store = open_store(f"s3://bkt/rec?endpoint={s3_server_url}&region=eu-west-1",
                       access_key="k", secret_key="s")
    assert isinstance(store, S3Store)
    assert store.url == "s3://bkt/rec"
    assert store.client.meta.region_name == "eu-west-1"
    assert store.client.meta.endpoint_url == s3_server_url


def test_profile_then_url_query_then_keywords(s3_server_url: str):
    config = parse_config({"profiles": {"prod": {
        "url": "s3://bkt/rec?region=eu-central-1",
        "endpoint": s3_server_url, "region": "ap-east-1", "access_key": "k", "secret_key": "s",
    }}})
    store = Settings(config).open_store("prod")
    assert isinstance(store, S3Store)
    assert store.client.meta.region_name == "eu-central-1"  # the URL's query beats the profile
    store = Settings(config).open_store("prod", region="us-west-1")
    assert store.client.meta.region_name == "us-west-1"  # keywords beat both


def test_profile_found_through_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    folder = tmp_path / "recordings"
    folder.mkdir()
    config_file = tmp_path / "recshelf.toml"
    config_file.write_text(f'[profiles.disk]\nurl = "{folder.as_uri()}"\nmedia_url = "http://127.0.0.1:1"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config_file))
    store = Settings.load().open_store("disk")
    assert isinstance(store, LocalStore) and store.root == folder


def test_a_name_that_is_not_a_profile_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    store = Settings(parse_config({})).open_store("recordings")
    assert isinstance(store, LocalStore) and store.root == tmp_path / "recordings"


def test_unknown_keyword_option_is_named():
    with pytest.raises(InvalidConfig, match="'bucket_name'"):
        open_store("s3://b", bucket_name="x")


def test_option_an_adapter_does_not_use_is_refused(tmp_path: Path):
    with pytest.raises(InvalidConfig, match="'domain'"):
        open_store("s3://b", domain="cdn.example.com")
    with pytest.raises(InvalidConfig, match="'region'"):
        open_store(str(tmp_path), region="x")


def test_missing_sdk_gives_the_install_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "recshelf_fake_adapter.py").write_text("import recshelf_sdk_that_is_not_installed\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "recshelf_fake_adapter", raising=False)
    monkeypatch.setitem(registry.BACKENDS, "fake",
                        registry.Backend("recshelf_fake_adapter:FakeStore", "pip install 'recshelf[fake]'"))
    with pytest.raises(InvalidConfig) as err:
        open_store("fake://bucket/prefix")
    assert "pip install 'recshelf[fake]'" in str(err.value)
    assert "recshelf_sdk_that_is_not_installed" in str(err.value)


def test_missing_adapter_module_is_invalid_config(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(registry.BACKENDS, "fake", registry.Backend("storage.stores.no_such_adapter:X"))
    with pytest.raises(InvalidConfig, match="not available"):
        open_store("fake://bucket")


def test_every_adapter_option_can_be_set_in_a_profile():
    # A profile (or URL query) may only carry PROFILE_OPTIONS; an adapter option outside it
    # could never be configured.
    for scheme in registry.BACKENDS:
        module = sys.modules[registry.backend_class(scheme).__module__]
        assert set(module.OPTIONS) <= PROFILE_OPTIONS, scheme


def test_oss_and_qiniu_open_through_the_registry(oss_emulator, qiniu_emulator):
    oss = open_store(f"oss://{oss_emulator.new_bucket()}/rec?endpoint={oss_emulator.url}&region=cn-hangzhou",
                     access_key=oss_emulator.access_key, secret_key=oss_emulator.secret_key)
    oss.write("a.ts", b"oss")
    assert oss.read("a.ts") == b"oss" and oss.url.startswith("oss://")
    bucket = qiniu_emulator.new_bucket()
    qiniu = open_store(f"qiniu://{bucket}/rec?endpoint={qiniu_emulator.base_url}",
                       domain=qiniu_emulator.domain(bucket), access_key=qiniu_emulator.access_key,
                       secret_key=qiniu_emulator.secret_key)
    qiniu.write("a.ts", b"qiniu")
    assert qiniu.read("a.ts") == b"qiniu" and qiniu.url.startswith("qiniu://")


def test_every_registered_target_names_a_class():
    for scheme, backend in registry.BACKENDS.items():
        module, _, cls = backend.target.partition(":")
        assert module.startswith("storage.stores.") and cls, scheme
