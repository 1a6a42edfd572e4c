"""storageConfig ↔ store URL + options, both directions."""

from __future__ import annotations

import pytest

from storage.agora.models import StorageConfig
from storage.agora.storage_config import (
    OSS_REGIONS,
    QINIU_REGIONS,
    S3_REGIONS,
    StorageConfigError,
    storage_config_for,
    store_target,
)
from storage.settings import Settings

KEYS = {"accessKey": "AK", "secretKey": "SK-SECRET"}


@pytest.mark.parametrize(("region", "expected"), list(QINIU_REGIONS.items()))
def test_qiniu_regions(region, expected):
    target = store_target(StorageConfig(vendor=0, region=region, bucket="b", fileNamePrefix=["x"], **KEYS))
    assert target.url == "qiniu://b/x"
    assert target.options == {"region": expected, "access_key": "AK", "secret_key": "SK-SECRET"}
    assert "SK-SECRET" not in repr(target)


def test_s3_region_table():
    assert S3_REGIONS[0] == "us-east-1" and S3_REGIONS[8] == "ap-southeast-1" and S3_REGIONS[25] == "eu-south-1"
    target = store_target(StorageConfig(vendor=1, region=10, bucket="rec", fileNamePrefix=["a", "b"], **KEYS,
                                        stsToken="TOKEN"))
    assert target.url == "s3://rec/a/b"
    assert target.options["region"] == "ap-northeast-1" and target.options["session_token"] == "TOKEN"


def test_oss_regions_and_uncertain_ones():
    assert OSS_REGIONS[0] == "cn-hangzhou"
    target = store_target({"vendor": 2, "region": 0, "bucket": "b", **KEYS})
    assert target.url == "oss://b" and target.options["endpoint"] == "https://oss-cn-hangzhou.aliyuncs.com"
    with pytest.raises(StorageConfigError, match="uncertain"):
        store_target({"vendor": 2, "region": 18, "bucket": "b", **KEYS})
    explicit = store_target({"vendor": 2, "region": 18, "bucket": "b", **KEYS},
                            endpoint="https://oss-me-east-1.aliyuncs.com")
    assert explicit.options["endpoint"] == "https://oss-me-east-1.aliyuncs.com"


def test_s3_compatible_vendor_11_needs_an_endpoint():
    target = store_target({"vendor": 11, "bucket": "b", **KEYS,
                           "extensionParams": {"endpoint": "http://127.0.0.1:9000"}})
    assert target.url == "s3://b" and target.options["endpoint"] == "http://127.0.0.1:9000"
    with pytest.raises(StorageConfigError, match="endpoint"):
        store_target({"vendor": 11, "bucket": "b", **KEYS})


@pytest.mark.parametrize(("vendor", "message"), [(3, "Tencent"), (5, "Azure"), (42, "unknown")])
def test_vendors_without_adapter(vendor, message):
    with pytest.raises(StorageConfigError, match=message):
        store_target({"vendor": vendor, "bucket": "b", **KEYS})


@pytest.mark.parametrize("prefix", [["has_underscore"], ["a-b"], ["x" * 129], ["é"]])
def test_file_name_prefix_rules(prefix):
    with pytest.raises(StorageConfigError, match="fileNamePrefix"):
        store_target({"vendor": 1, "bucket": "b", "fileNamePrefix": prefix, **KEYS})


def test_local_extension_vendor(tmp_path):
    sc = storage_config_for(str(tmp_path), file_name_prefix=["demo"])
    assert sc.vendor == 100 and sc.extension_params == {"storeUrl": f"file://{tmp_path}"}
    target = store_target(sc)
    assert target.url == f"file://{tmp_path}/demo"
    (tmp_path / "demo").mkdir()  # a local store, like a bucket, must exist before writing
    store = target.open()
    store.write("x.txt", b"1")
    assert (tmp_path / "demo" / "x.txt").read_bytes() == b"1"


def test_round_trips():
    s3 = storage_config_for("s3://rec/agora/prod?region=eu-west-1", access_key="AK", secret_key="SK")
    assert (s3.vendor, s3.region, s3.bucket, s3.file_name_prefix) == (1, 4, "rec", ["agora", "prod"])
    assert store_target(s3).url == "s3://rec/agora/prod"
    oss = storage_config_for("oss://b/p?endpoint=https://oss-cn-shanghai.aliyuncs.com", access_key="AK",
                             secret_key="SK")
    assert (oss.vendor, oss.region) == (2, 1)
    assert store_target(oss).options["endpoint"] == "https://oss-cn-shanghai.aliyuncs.com"
    qiniu = storage_config_for("qiniu://b?region=na0", access_key="AK", secret_key="SK")
    assert (qiniu.vendor, qiniu.region) == (0, 3)
    minio = storage_config_for("s3://b?endpoint=http://127.0.0.1:9000", access_key="AK", secret_key="SK")
    assert minio.vendor == 11 and minio.extension_params == {"endpoint": "http://127.0.0.1:9000"}


def test_reverse_errors(monkeypatch):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(StorageConfigError, match="no access key"):
        storage_config_for("s3://b?region=us-east-1")
    with pytest.raises(StorageConfigError, match="no region"):
        storage_config_for("s3://b", access_key="AK", secret_key="SK")
    with pytest.raises(StorageConfigError, match="letters and digits"):
        storage_config_for("s3://b/with_underscore?region=us-east-1", access_key="AK", secret_key="SK")
    with pytest.raises(StorageConfigError, match="no Agora region"):
        storage_config_for("s3://b?region=mars-1", access_key="AK", secret_key="SK")
    with pytest.raises(StorageConfigError, match="aliyuncs"):
        storage_config_for("oss://b?endpoint=http://127.0.0.1:1", access_key="AK", secret_key="SK")


def test_profile_both_ways(tmp_path, monkeypatch):
    config = tmp_path / "recshelf.toml"
    config.write_text('[profiles.rec]\nurl = "oss://recbucket/agora/live"\n'
                      'endpoint = "https://oss-cn-beijing.aliyuncs.com"\naccess_key = "AKP"\nsecret_key = "SKP"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    settings = Settings.load()  # what the face (CLI, UI, server) hands down
    sc = storage_config_for("rec", file_name_prefix=["day1"], settings=settings)
    assert (sc.vendor, sc.region, sc.bucket, sc.file_name_prefix) == (2, 3, "recbucket", ["agora", "live", "day1"])
    assert sc.secret_key.get_secret_value() == "SKP"
    target = store_target(sc)
    assert target.url == "oss://recbucket/agora/live/day1"
    assert target.options == {"endpoint": "https://oss-cn-beijing.aliyuncs.com", "access_key": "AKP",
                              "secret_key": "SKP"}
    # The local-demo extension can name a profile too.
    local = store_target({"vendor": 100, "bucket": "x", "extensionParams": {"storeUrl": "rec"}}, settings=settings)
    assert local.url == "oss://recbucket/agora/live" and local.options["secret_key"] == "SKP"
