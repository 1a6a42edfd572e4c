"""Agora `storageConfig` ↔ recshelf store URL + options (reference/agora.md §1.6).

Agora names a bucket by `vendor` + numeric `region`; recshelf opens stores by URL
(`s3://bucket/prefix`) plus options (`region`, `endpoint`, keys). `fileNamePrefix` ↔ the URL prefix.

| vendor | store | region |
|---|---|---|
| 0 Qiniu | `qiniu://` | 0–4 → `z0 z1 z2 na0 as0` (Qiniu ids inferred from Agora's names) |
| 1 Amazon S3 | `s3://` | Agora's table → AWS region id |
| 2 Aliyun OSS | `oss://` | Agora's table → endpoint `https://oss-<id>.aliyuncs.com` (uncertain ids: give one) |
| 11 S3-compatible | `s3://` + endpoint | `region` 0; host in `extensionParams.endpoint` |
| 100 **recshelf extension** | any store URL or profile | `extensionParams.storeUrl` (simulator only) |

Vendor 100 exists so the local demo can record into a plain folder: the simulator receives
`{"vendor": 100, "bucket": "local", "extensionParams": {"storeUrl": "file:///…"}}`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from storage.agora.models import StorageConfig
from storage.settings import Settings
from storage.stores.base import ObjectStore
from storage.stores.registry import env_value, parse_store_url, redacted_options

VENDOR_QINIU = 0
VENDOR_S3 = 1
VENDOR_OSS = 2
VENDOR_S3_COMPATIBLE = 11
VENDOR_RECSHELF = 100  # recshelf simulator extension: a store URL in extensionParams.storeUrl

VENDOR_NAMES: dict[int, str] = {
    0: "Qiniu Cloud", 1: "Amazon S3", 2: "Alibaba Cloud OSS", 3: "Tencent Cloud COS", 4: "Kingsoft Cloud KS3",
    5: "Microsoft Azure", 6: "Google Cloud", 7: "Huawei Cloud", 8: "Baidu AI Cloud", 11: "S3-compatible",
    VENDOR_RECSHELF: "recshelf store (simulator extension)",
}

QINIU_REGIONS: dict[int, str] = {0: "z0", 1: "z1", 2: "z2", 3: "na0", 4: "as0"}

_S3_NAMES = {
    0: "US_EAST_1", 1: "US_EAST_2", 2: "US_WEST_1", 3: "US_WEST_2", 4: "EU_WEST_1", 5: "EU_WEST_2",
    6: "EU_WEST_3", 7: "EU_CENTRAL_1", 8: "AP_SOUTHEAST_1", 9: "AP_SOUTHEAST_2", 10: "AP_NORTHEAST_1",
    11: "AP_NORTHEAST_2", 12: "SA_EAST_1", 13: "CA_CENTRAL_1", 14: "AP_SOUTH_1", 15: "CN_NORTH_1",
    16: "CN_NORTHWEST_1", 17: "US_GOV_WEST_1", 18: "AF_SOUTH_1", 19: "AP_EAST_1", 20: "AP_NORTHEAST_3",
    21: "EU_NORTH_1", 22: "ME_SOUTH_1", 23: "US_GOV_EAST_1", 24: "AP_SOUTHEAST_3", 25: "EU_SOUTH_1",
}
# 17 and 23 (GovCloud) only appear in the old docs; kept so old recordings still map.
S3_REGIONS: dict[int, str] = {code: name.lower().replace("_", "-") for code, name in _S3_NAMES.items()}

_OSS_NAMES = {
    0: "CN_Hangzhou", 1: "CN_Shanghai", 2: "CN_Qingdao", 3: "CN_Beijing", 4: "CN_Zhangjiakou",
    5: "CN_Huhehaote", 6: "CN_Shenzhen", 7: "CN_Hongkong", 8: "US_West_1", 9: "US_East_1",
    10: "AP_Southeast_1", 11: "AP_Southeast_2", 12: "AP_Southeast_3", 13: "AP_Southeast_5",
    14: "AP_Northeast_1", 15: "AP_South_1", 16: "EU_Central_1", 17: "EU_West_1", 18: "EU_East_1",
    19: "AP_Southeast_6", 20: "CN_Heyuan", 21: "CN_Guangzhou", 22: "CN_Chengdu", 23: "CN_Nanjing",
    24: "CN_Fuzhou", 25: "CN_Wulanchabu", 26: "CN_Northeast_2", 27: "CN_Southeast_7",
}
# Agora's names for these do not pin down an OSS region id (EU_East_1 is probably Dubai =
# me-east-1, but that is a guess): the caller must give the endpoint.
OSS_UNCERTAIN: frozenset[int] = frozenset({18, 26, 27})
OSS_REGIONS: dict[int, str] = {code: name.lower().replace("_", "-") for code, name in _OSS_NAMES.items()
                               if code not in OSS_UNCERTAIN}

_PREFIX_PART = re.compile(r"^[A-Za-z0-9]+$")
_OSS_HOST = re.compile(r"^oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")
_AGORA_SCHEMES = frozenset({"s3", "oss", "qiniu"})


class StorageConfigError(ValueError):
    """A storageConfig or store that cannot be mapped to the other side."""


@dataclass(frozen=True)
class StoreTarget:
    """Where a storageConfig points, as recshelf opens it: `open_store(url, **options)`."""

    url: str  # never holds secrets
    options: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"StoreTarget(url={self.url!r}, options={redacted_options(self.options)!r})"

    def open(self, settings: Settings | None = None) -> ObjectStore:
        """The store, with the backend's environment fallbacks and signer from `settings` (none: no fallbacks)."""
        return (settings if settings is not None else Settings()).open_store(self.url, **self.options)


def validate_prefix(parts: list[str]) -> list[str]:
    """Agora's rule: letters and digits only, total length with slashes ≤ 128."""
    for part in parts:
        if not _PREFIX_PART.match(part):
            raise StorageConfigError(f"fileNamePrefix element {part!r} must be letters and digits only")
    if len("/".join(parts)) > 128:
        raise StorageConfigError("fileNamePrefix is longer than 128 characters including slashes")
    return parts


def prefix_to_parts(prefix: str) -> list[str]:
    return validate_prefix([p for p in prefix.strip("/").split("/") if p])


def _join(url: str, parts: list[str]) -> str:
    """`url` with the fileNamePrefix folders appended to its path (query kept)."""
    if not parts:
        return url
    base, sep, query = url.partition("?")
    return f"{base.rstrip('/')}/{'/'.join(parts)}" + (sep + query if sep else "")


def _keys(sc: StorageConfig) -> dict[str, str]:
    options = {"access_key": sc.access_key.get_secret_value(), "secret_key": sc.secret_key.get_secret_value()}
    if sc.sts_token is not None:
        options["session_token"] = sc.sts_token.get_secret_value()
    return {k: v for k, v in options.items() if v}


def store_target(sc: StorageConfig | Mapping[str, Any], *, endpoint: str | None = None,
                 settings: Settings | None = None) -> StoreTarget:
    """The store a storageConfig names. `endpoint` overrides the derived one (needed for uncertain OSS regions)."""
    if not isinstance(sc, StorageConfig):
        sc = StorageConfig.model_validate(sc)
    parts = validate_prefix(list(sc.file_name_prefix))
    ext = sc.extension_params or {}
    endpoint = endpoint or ext.get("endpoint")
    if sc.vendor == VENDOR_QINIU:
        region = QINIU_REGIONS.get(sc.region)
        if region is None:
            raise StorageConfigError(f"unknown Qiniu region {sc.region} (known: 0–4)")
        return StoreTarget(_join(f"qiniu://{sc.bucket}", parts), {"region": region, **_keys(sc)})
    if sc.vendor in (VENDOR_S3, VENDOR_S3_COMPATIBLE):
        options = _keys(sc)
        if sc.vendor == VENDOR_S3:
            region = S3_REGIONS.get(sc.region)
            if region is None:
                raise StorageConfigError(f"unknown Amazon S3 region {sc.region}")
            options["region"] = region
        elif not endpoint:
            raise StorageConfigError("vendor 11 (S3-compatible) needs extensionParams.endpoint")
        if endpoint:
            options["endpoint"] = endpoint
        return StoreTarget(_join(f"s3://{sc.bucket}", parts), options)
    if sc.vendor == VENDOR_OSS:
        if not endpoint:
            region = OSS_REGIONS.get(sc.region)
            if region is None:
                hint = ("its OSS region id is uncertain; give the endpoint explicitly"
                        if sc.region in OSS_UNCERTAIN else "unknown region")
                raise StorageConfigError(f"Aliyun OSS region {sc.region} ({_OSS_NAMES.get(sc.region, '?')}): "
                                         f"{hint}")
            endpoint = f"https://oss-{region}.aliyuncs.com"
        return StoreTarget(_join(f"oss://{sc.bucket}", parts), {"endpoint": endpoint, **_keys(sc)})
    if sc.vendor == VENDOR_RECSHELF:
        url = ext.get("storeUrl")
        if not url:
            raise StorageConfigError("vendor 100 (recshelf extension) needs extensionParams.storeUrl")
        location = _resolve(str(url), settings if settings is not None else Settings())
        return StoreTarget(_join(location[0], parts), location[1])
    name = VENDOR_NAMES.get(sc.vendor)
    if name:
        raise StorageConfigError(f"vendor {sc.vendor} ({name}) has no recshelf store adapter "
                                 "(supported: 0 Qiniu, 1 S3, 2 OSS, 11 S3-compatible, 100 recshelf)")
    raise StorageConfigError(f"unknown storageConfig vendor {sc.vendor}")


def _resolve(url_or_profile: str, settings: Settings) -> tuple[str, dict[str, str]]:
    """A profile name becomes its URL and options; anything else is a store URL or folder."""
    if "://" not in url_or_profile:
        profile = settings.profiles.get(url_or_profile)
        if profile is not None:
            return profile.url, dict(profile.options)
        return f"file://{os.path.abspath(os.path.expanduser(url_or_profile))}", {}
    return url_or_profile, {}


def storage_config_for(url_or_profile: str, *, file_name_prefix: list[str] | None = None,
                       access_key: str | None = None, secret_key: str | None = None,
                       sts_token: str | None = None, require_keys: bool = True,
                       settings: Settings | None = None) -> StorageConfig:
    """The storageConfig that makes Agora record into a recshelf store (URL, folder or profile).

    The URL prefix becomes `fileNamePrefix`. Keys come from the arguments, else the profile, else
    the backend's environment variables as declared in the registry and captured by `settings`
    (the caller's; none means no profiles and no environment). Local folders (and `file://`) become
    vendor 100, which only the simulator accepts; there `file_name_prefix` picks sub-folders.
    """
    settings = settings if settings is not None else Settings()
    url, options = _resolve(url_or_profile, settings)
    location = parse_store_url(url)
    options = {**options, **location.options}
    if location.scheme == "file":
        return StorageConfig(vendor=VENDOR_RECSHELF, region=0, bucket="local",
                             fileNamePrefix=validate_prefix(list(file_name_prefix or [])),
                             extensionParams={"storeUrl": f"file://{location.prefix}"})
    # The URL's folders first, then the extra ones; the 128-character limit applies to the whole path.
    parts = validate_prefix([p for p in location.prefix.split("/") if p] + list(file_name_prefix or []))
    if location.scheme not in _AGORA_SCHEMES:
        raise StorageConfigError(f"store scheme {location.scheme!r} has no Agora vendor")

    def option(name: str) -> str | None:
        return options.get(name) or env_value(location.scheme, name, settings.store_env)

    ak = access_key or option("access_key") or ""
    sk = secret_key or option("secret_key") or ""
    token = sts_token or option("session_token")
    if require_keys and not (ak and sk):
        raise StorageConfigError(f"no access key / secret key for {location.scheme}://{location.bucket}: Agora "
                                 "needs keys that can write to the bucket")
    keys: dict[str, Any] = {"accessKey": ak, "secretKey": sk}
    if token:
        keys["stsToken"] = token
    common = {"bucket": location.bucket, "fileNamePrefix": parts, **keys}
    endpoint = options.get("endpoint")
    if location.scheme == "qiniu":
        region = options.get("region", "z0")
        code = _reverse(QINIU_REGIONS, region, "Qiniu region")
        return StorageConfig(vendor=VENDOR_QINIU, region=code, **common)
    if location.scheme == "s3":
        if endpoint and not _is_aws(endpoint):
            # A self-hosted S3 (MinIO, moto): Agora's vendor 11 takes the host in extensionParams.
            return StorageConfig(vendor=VENDOR_S3_COMPATIBLE, region=0, extensionParams={"endpoint": endpoint},
                                 **common)
        region = option("region")
        if not region:
            raise StorageConfigError(f"s3://{location.bucket}: no region; Agora needs the bucket's region")
        return StorageConfig(vendor=VENDOR_S3, region=_reverse(S3_REGIONS, region, "AWS region"), **common)
    # oss
    endpoint = endpoint or option("endpoint") or ""
    match = _OSS_HOST.match(_host(endpoint))
    if not match:
        raise StorageConfigError(f"oss://{location.bucket}: endpoint {endpoint!r} is not an "
                                 "oss-<region>.aliyuncs.com endpoint, so it has no Agora region")
    return StorageConfig(vendor=VENDOR_OSS, region=_reverse(OSS_REGIONS, match.group(1), "OSS region"), **common)


def _reverse(table: dict[int, str], value: str, what: str) -> int:
    for code, name in table.items():
        if name == value.lower():
            return code
    raise StorageConfigError(f"{what} {value!r} has no Agora region code")


def _host(endpoint: str) -> str:
    """The host of an endpoint given as a URL or as a bare host[:port]."""
    return urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}").hostname or ""


def _is_aws(endpoint: str) -> bool:
    host = _host(endpoint)
    return host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn")
