"""Shared pieces for the in-repo HTTP emulators of cloud object stores (OSS, Qiniu, ...).

Each emulator is a `http.server.ThreadingHTTPServer` on 127.0.0.1 speaking one vendor's wire protocol
closely enough that the vendor's own SDK talks to it unmodified. This module holds what is not vendor
specific, so every emulator behaves the same way where the protocols agree:

* `BucketStore` — objects in memory, one dict per bucket, guarded by one lock. Given a root folder,
  each subfolder is a bucket and its files are loaded as objects at start ("seeding"); with
  `persist=True` writes and deletes are mirrored back to the folder. Content types are not persisted:
  seeded files get a type guessed from their extension.
* `parse_range` — HTTP `Range` header semantics (RFC 9110): `bytes=a-b`, `bytes=a-`, `bytes=-n`; an
  end past the object is clipped (and flagged, since OSS treats that case differently); a start at or
  past the end is unsatisfiable (416); anything malformed or multi-range is ignored (whole object, 200).
* `EmulatorHandler` — a request handler base: HTTP/1.1 keep-alive, request body reading (incl. chunked
  uploads), CORS headers on every response and a 200 answer to every OPTIONS preflight, so presigned
  URLs can be played by a browser (hls.js) from another origin.
* `EmulatorServer` — the threading server holding the `BucketStore`, the accepted credentials
  (access key -> secret key) and a `clock` tests may replace to check expiry.
* `serve_in_thread(server) -> (base_url, stop)` for pytest fixtures, and `main(handler_class)` for
  ``python -m tests.emulators.<name> --port 0 --root DIR --access-key AK --secret-key SK``, which
  prints the base URL as its first line (flushed) and serves until killed.

A vendor module subclasses `EmulatorHandler` with its routes, signature checks and error format.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import mimetypes
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

# Seeded files need a sensible type; the stdlib guesses `.ts` as a Qt file and lacks `.m3u8`.
_SEED_TYPES = {".ts": "video/mp2t", ".m3u8": "application/vnd.apple.mpegurl", ".m4s": "video/iso.segment"}


def guess_content_type(key: str) -> str:
    """A content type for a key with none given: the HLS types first, then the stdlib's guess."""
    suffix = Path(key).suffix.lower()
    if suffix in _SEED_TYPES:
        return _SEED_TYPES[suffix]
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


def http_date(ts: float) -> str:
    """RFC 7231 date, as in Last-Modified / Date headers."""
    return formatdate(ts, usegmt=True)


def iso8601(ts: float) -> str:
    """ISO 8601 UTC with milliseconds, as in S3/OSS list XML (`2024-01-01T00:00:00.000Z`)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}Z"


# ------------------------------------------------------------------------------------------------
# Objects


@dataclass(frozen=True)
class StoredObject:
    data: bytes
    content_type: str
    etag: str  # hex md5 of the data unless the emulator supplies its own (e.g. Qiniu's hash)
    modified: float  # epoch seconds
    storage_class: str = ""  # the emulator's own class name; "" is its standard class
    restore: str = ""  # "" none asked, "ongoing" while a restore of a cold object runs

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class ListPage:
    """One page of a listing: objects and rolled-up common prefixes, both in key order."""

    objects: list[tuple[str, StoredObject]]
    prefixes: list[str]
    truncated: bool
    last: str | None  # the last key or prefix returned: the marker for the next page


class NoSuchBucket(KeyError):
    """The bucket does not exist in the store."""


class BucketStore:
    """Thread-safe in-memory buckets, optionally seeded from and persisted to a root folder."""

    def __init__(self, root: Path | None = None, *, persist: bool = False) -> None:
        self.root = root
        self.persist = persist and root is not None
        self._lock = threading.RLock()
        self._buckets: dict[str, dict[str, StoredObject]] = {}
        if root is not None:
            self._seed(root)

    def _seed(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        for folder in sorted(p for p in root.iterdir() if p.is_dir()):
            objects = self._buckets.setdefault(folder.name, {})
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                key = path.relative_to(folder).as_posix()
                data = path.read_bytes()
                objects[key] = StoredObject(
                    data, guess_content_type(key), hashlib.md5(data).hexdigest(), path.stat().st_mtime
                )

    # -- buckets

    def create_bucket(self, bucket: str) -> None:
        with self._lock:
            self._buckets.setdefault(bucket, {})
            if self.persist:
                self._bucket_dir(bucket).mkdir(parents=True, exist_ok=True)

    def has_bucket(self, bucket: str) -> bool:
        with self._lock:
            return bucket in self._buckets

    def buckets(self) -> list[str]:
        with self._lock:
            return sorted(self._buckets)

    # -- objects

    def _objects(self, bucket: str) -> dict[str, StoredObject]:
        try:
            return self._buckets[bucket]
        except KeyError:
            raise NoSuchBucket(bucket) from None

    def get(self, bucket: str, key: str) -> StoredObject | None:
        """The object, or None when the key is missing. Raises NoSuchBucket."""
        with self._lock:
            return self._objects(bucket).get(key)

    def put(
        self, bucket: str, key: str, data: bytes, content_type: str | None = None, *, etag: str | None = None
    ) -> StoredObject:
        """Store an object whole, replacing any previous one. Raises NoSuchBucket."""
        obj = StoredObject(
            data, content_type or guess_content_type(key), etag or hashlib.md5(data).hexdigest(), time.time()
        )
        with self._lock:
            self._objects(bucket)[key] = obj
            path = self._file_for(bucket, key)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        return obj

    def update(self, bucket: str, key: str, **changes: str) -> StoredObject | None:
        """Change an object's storage class or restore state in place; None when the key is missing."""
        with self._lock:
            objects = self._objects(bucket)
            if key not in objects:
                return None
            objects[key] = dataclasses.replace(objects[key], **changes)
            return objects[key]

    def delete(self, bucket: str, key: str) -> bool:
        """Remove an object; True if it existed. Raises NoSuchBucket."""
        with self._lock:
            existed = self._objects(bucket).pop(key, None) is not None
            path = self._file_for(bucket, key)
            if existed and path is not None and path.is_file():
                path.unlink()
        return existed

    def list_page(
        self, bucket: str, *, prefix: str = "", delimiter: str = "", after: str = "", max_keys: int = 1000
    ) -> ListPage:
        """Keys under `prefix` strictly after `after`, rolled up at `delimiter`, at most `max_keys` entries.

        As in S3/OSS, a common prefix counts as one entry, and a marker that names a common prefix
        skips every key under it (its rolled-up name is not greater than the marker).
        """
        with self._lock:
            snapshot = sorted(self._objects(bucket).items())
        objects: list[tuple[str, StoredObject]] = []
        prefixes: list[str] = []
        last: str | None = None
        for key, obj in snapshot:
            if not key.startswith(prefix):
                continue
            name = key
            if delimiter:
                cut = key.find(delimiter, len(prefix))
                if cut >= 0:
                    name = key[: cut + len(delimiter)]
            if name <= after or name == last:
                continue
            if len(objects) + len(prefixes) >= max_keys:
                return ListPage(objects, prefixes, True, last)
            if name == key:
                objects.append((key, obj))
            else:
                prefixes.append(name)
            last = name
        return ListPage(objects, prefixes, False, last)

    # -- persistence

    def _bucket_dir(self, bucket: str) -> Path:
        assert self.root is not None
        return self.root / bucket

    def _file_for(self, bucket: str, key: str) -> Path | None:
        """The file mirroring an object, or None when not persisting or the key cannot be a file name."""
        if not self.persist or not key or key.endswith("/"):
            return None
        parts = key.split("/")
        # Keys are arbitrary strings; never let one escape the bucket folder.
        if any(part in ("", ".", "..") for part in parts):
            return None
        return self._bucket_dir(bucket).joinpath(*parts)


# ------------------------------------------------------------------------------------------------
# Ranges


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, already clipped to the object
    clipped: bool  # the request asked for bytes past the end (OSS's default mode rejects this)

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


class RangeNotSatisfiable(ValueError):
    """The range starts at or past the end of the object (HTTP 416)."""


_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$")


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The byte range to serve, or None to serve the whole object with 200 (no or unusable header)."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None  # malformed or multi-range: ignored, as RFC 9110 allows
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix range: the last n bytes
        count = int(last)
        if count == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(0, size - count), size - 1, count > size)
    start = int(first)
    end = int(last) if last else None
    if end is not None and end < start:
        return None  # syntactically invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable(header)
    if end is None:
        return ByteRange(start, size - 1, False)
    return ByteRange(start, min(end, size - 1), end > size - 1)


# ------------------------------------------------------------------------------------------------
# HTTP


EXPOSED_HEADERS = "Content-Range, Content-Length, ETag, Accept-Ranges"


def cors_headers(origin: str | None) -> dict[str, str]:
    """CORS headers for an actual (non-preflight) response."""
    return {
        "Access-Control-Allow-Origin": origin or "*",
        "Access-Control-Expose-Headers": EXPOSED_HEADERS,
        "Vary": "Origin",
    }


class EmulatorServer(ThreadingHTTPServer):
    """A threading HTTP server with the emulator's state attached for its handlers."""

    daemon_threads = True  # a hung client must not keep a test run alive
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        store: BucketStore,
        credentials: dict[str, str],
    ) -> None:
        super().__init__(address, handler)
        self.store = store
        self.credentials = credentials  # access key -> secret key
        self.clock: Callable[[], float] = time.time  # replaceable, to test expiry without sleeping

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"


class EmulatorHandler(BaseHTTPRequestHandler):
    """Base request handler: keep-alive, body reading, CORS on every response, OPTIONS preflight."""

    protocol_version = "HTTP/1.1"  # SDKs pool connections; every response must carry Content-Length
    server: EmulatorServer
    quiet = True  # per-request log lines drown test output; set False when debugging

    # -- request helpers

    def target(self) -> tuple[str, list[tuple[str, str]]]:
        """The raw (still percent-encoded) path and the decoded query pairs, blanks kept, in order.

        The query is decoded as form data (`+` means space), as `requests` encodes `params=`. An
        emulator that must see the query exactly as signed parses `self.path` itself.
        """
        parts = urlsplit(self.path)
        return parts.path, parse_qsl(parts.query, keep_blank_values=True)

    def read_body(self) -> bytes:
        """The request body, whether sent with Content-Length or chunked (streamed uploads)."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                line = self.rfile.readline()
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    # -- response helpers

    def end_headers(self) -> None:
        for name, value in cors_headers(self.headers.get("Origin")).items():
            self.send_header(name, value)
        super().end_headers()

    def send_body(
        self,
        status: int,
        body: bytes = b"",
        *,
        content_type: str | None = None,
        headers: dict[str, str] | None = None,
        content_length: int | None = None,
    ) -> None:
        """Send a complete response. For HEAD, `content_length` gives the length without a body."""
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body) if content_length is None else content_length))
        self.end_headers()
        if body and self.command != "HEAD":
            self.wfile.write(body)

    def do_OPTIONS(self) -> None:  # noqa: N802 - name fixed by http.server
        # Preflight: allow whatever the browser asks for; the signature still guards the real request.
        requested = self.headers.get("Access-Control-Request-Headers", "")
        self.send_body(
            200,
            headers={
                "Access-Control-Allow-Methods": "GET, HEAD, PUT, POST, DELETE, OPTIONS",
                "Access-Control-Allow-Headers": requested or "*",
                "Access-Control-Max-Age": "600",
            },
        )

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        if not self.quiet:
            super().log_message(format, *args)


def serve_in_thread(server: ThreadingHTTPServer) -> tuple[str, Callable[[], None]]:
    """Start `server` on a daemon thread; return its base URL and a `stop()` that shuts it down."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{port}", stop


def main(
    handler: type[EmulatorHandler],
    argv: Sequence[str] | None = None,
    *,
    server_class: type[EmulatorServer] = EmulatorServer,
    description: str = "",
) -> None:
    """Command-line entry: serve buckets from --root until killed; the first stdout line is the base URL."""
    parser = argparse.ArgumentParser(description=description or handler.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    parser.add_argument("--root", type=Path, help="folder whose subfolders are buckets (seeded at start)")
    parser.add_argument("--persist", action="store_true", help="write objects back to --root")
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", required=True)
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    args = parser.parse_args(argv)
    handler.quiet = not args.verbose
    store = BucketStore(args.root, persist=args.persist)
    server = server_class((args.host, args.port), handler, store, {args.access_key: args.secret_key})
    # Whoever launched us reads this line to learn the port; flush so it never sits in a buffer.
    print(server.base_url, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


__all__ = [
    "BucketStore",
    "ByteRange",
    "EmulatorHandler",
    "EmulatorServer",
    "ListPage",
    "NoSuchBucket",
    "RangeNotSatisfiable",
    "StoredObject",
    "cors_headers",
    "guess_content_type",
    "http_date",
    "iso8601",
    "main",
    "parse_range",
    "serve_in_thread",
]
