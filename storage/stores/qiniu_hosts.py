"""Which hosts a Qiniu store talks to: always explicit, so the SDK never asks the uc region service."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from qiniu.http.endpoint import Endpoint
from qiniu.http.region import Region, ServiceName

from storage.stores.base import InvalidConfig

REGIONS = frozenset({"z0", "z1", "z2", "na0", "as0"})  # public Kodo regions with a fixed host table
SERVICE_OPTIONS = {
    "up_host": ServiceName.UP,
    "rs_host": ServiceName.RS,
    "rsf_host": ServiceName.RSF,
    "api_host": ServiceName.API,
    "uc_host": ServiceName.UC,
}


def endpoint(value: str, name: str, url: str) -> tuple[Endpoint, str]:
    """An SDK Endpoint and its scheme from ``http(s)://host[:port]`` or a bare ``host[:port]`` (https)."""
    text = value.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise InvalidConfig(f"option {name!r} must be a base URL like http://host:port, not {value!r}", url=url)
    if parts.query or "@" in parts.netloc:
        raise InvalidConfig(f"option {name!r} must not carry a query or credentials", url=url)
    return Endpoint(parts.netloc, default_scheme=parts.scheme), parts.scheme


def parse_domain(domain: str, url: str) -> str:
    text = domain.strip().rstrip("/")
    # Bucket test domains (*.clouddn.com, *.qiniudns.com) serve plain http only.
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or "@" in parts.netloc:
        raise InvalidConfig(f"option 'domain' must look like http://cdn.example.com, not {domain!r}",
                            url=url)
    return text


def build_region(region: str | None, base_url: str | None, hosts: Mapping[str, str], url: str) -> tuple[Region, str]:
    """The explicit hosts of every service, so the SDK never asks the uc region service."""
    if base_url:
        base, scheme = endpoint(base_url, "endpoint", url)
        # One base URL serves every service, uc included, so nothing can leak to public hosts.
        result = Region(region_id="custom", services={name: [base] for name in ServiceName})
    elif region:
        if region not in REGIONS:
            raise InvalidConfig(f"unknown Qiniu region {region!r} (known: {', '.join(sorted(REGIONS))}; "
                                "use endpoint for other deployments)", url=url)
        scheme = "https"
        result = Region.from_region_id(region, preferred_scheme=scheme)
    elif hosts.keys() >= {"up_host", "rs_host", "rsf_host"}:
        scheme = endpoint(hosts["rs_host"], "rs_host", url)[1]
        result = Region(region_id="custom")
    else:
        raise InvalidConfig(
            "no Qiniu hosts: set region (z0, z1, z2, na0, as0) or endpoint in a profile, or "
            "QINIU_REGION / QINIU_ENDPOINT", url=url)
    for name, service in SERVICE_OPTIONS.items():
        if hosts.get(name):
            host, host_scheme = endpoint(hosts[name], name, url)
            if host_scheme != scheme:
                # BucketManager and the uploaders apply one preferred scheme to every host.
                raise InvalidConfig(f"option {name!r} uses {host_scheme} but the other Qiniu hosts use "
                                    f"{scheme}; the SDK needs one scheme for all", url=url)
            result.services[service] = [host]
    return result, scheme
