"""A folder on this machine as an ObjectStore.

Keys are '/'-separated paths below the folder and can never leave it. Writes go to a temp file
next to the target, are fsynced and renamed over it, so a reader (or a crash) never sees half an
object; listings skip those temp files. Content types are not stored: they derive from the
extension, which is also what the media route serves. Browsers reach objects through
`recshelf serve` (storage/server/media.py) with HMAC-signed, expiring URLs.

Symbolic links below the folder are never followed (rclone's default): a listing skips them with
one warning per link, reads treat them as missing, and linked folders are not descended. A link can
point out of the folder (/etc/passwd as a "slice") or at another recording's files (its bytes served
under this one's name); neither is an object of this store.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from stat import S_ISREG
from typing import BinaryIO, Self

from storage.signing import MediaSigner
from storage.stores.base import InvalidConfig, NotFound, ObjectInfo, Signer, StoreError, reject_unknown_options
from storage.stores.registry import option_names

OPTIONS = option_names("file")
TEMP_MARKER = ".recshelf-tmp-"  # in-progress writes are named ".<name>.recshelf-tmp-<random>"
_CHUNK = 1 << 20

log = logging.getLogger(__name__)
_warned_links: set[str] = set()  # paths already warned about: a listing runs often, one warning per link
_warned_lock = threading.Lock()


def _warn_link(path: str) -> None:
    with _warned_lock:
        if path in _warned_links:
            return
        _warned_links.add(path)
    log.warning("skipping symbolic link %s: links in a local store are not followed", path)


def key_problem(key: str) -> str | None:
    """Why `key` cannot name a file below a folder, or None when it can."""
    if not key:
        return "the key is empty"
    if "\x00" in key:
        return "the key contains a NUL character"
    if "\\" in key:
        return "the key contains a backslash"
    if key.startswith("/"):
        return "the key is absolute"
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return "the key has an empty, '.' or '..' segment"
    if TEMP_MARKER in parts[-1]:
        return "the name is reserved for in-progress writes"
    return None


def resolve_inside(root: Path, key: str) -> Path | None:
    """The file `key` names below `root`, or None if it is not a valid key or passes through a symlink.

    Only the parts below `root` are checked: the root itself may be reached through links.
    """
    if key_problem(key) is not None:
        return None
    path = root
    for part in key.split("/"):
        path = path / part
        if path.is_symlink():
            return None
    return path


def file_info(key: str, st: os.stat_result) -> ObjectInfo:
    # nginx-style validator: changes whenever the file is rewritten.
    etag = f"{st.st_mtime_ns:x}-{st.st_size:x}"
    return ObjectInfo(key, st.st_size, etag, datetime.fromtimestamp(st.st_mtime, UTC))


class LocalStore:
    """Objects are the regular files below `root`."""

    def __init__(self, root: str | Path, *, signer: Signer | None = None, media_url: str | None = None,
                 media_secret: str | None = None) -> None:
        """`signer` signs URLs for the media route; `media_url` + `media_secret` build one (profiles)."""
        self.root = Path(root).expanduser().absolute()
        self.url = self.root.as_uri()
        if media_url and media_secret:
            signer = MediaSigner(media_url, media_secret)
        self._signer = signer

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str],
                     signer: Signer | None = None) -> Self:
        if bucket:
            raise InvalidConfig(f"a local folder has no bucket (got {bucket!r})")
        if not prefix:
            raise InvalidConfig("no folder path given for a local store")
        reject_unknown_options(options, OPTIONS, "a local folder store", Path(prefix).absolute().as_uri())
        return cls(prefix, signer=signer, media_url=options.get("media_url"),
                   media_secret=options.get("media_secret"))

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    # -- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        folder, _, name_start = prefix.rpartition("/")
        if folder and key_problem(folder) is not None:
            raise InvalidConfig(f"invalid listing prefix: {key_problem(folder)}", url=self.url, key=prefix)
        if not self.root.is_dir():
            raise NotFound("the folder does not exist", url=self.url)
        start = resolve_inside(self.root, folder) if folder else self.root
        if start is None:  # the prefix passes through a linked folder, which is not descended
            _warn_link(str(self.root.joinpath(*folder.split("/"))))
            return iter(())
        base = folder + "/" if folder else ""
        return self._walk(start, base, name_start)

    def _walk(self, folder: Path, base: str, name_start: str = "") -> Iterator[ObjectInfo]:
        # One directory at a time, entries sorted with directories compared as "name/", which
        # yields keys in exactly the order of the full key strings (as S3 lists them) while
        # holding only one directory's names per level in memory. The loop is kept lean (the
        # DirEntry's cached type, one stat, S_ISREG): a 60,000-file store spends its time in here.
        try:
            with os.scandir(folder) as it:
                entries = [e for e in it if e.name.startswith(name_start) and TEMP_MARKER not in e.name]
        except (FileNotFoundError, NotADirectoryError):
            return
        except PermissionError as exc:
            raise StoreError(f"cannot read folder: {exc.strerror}", url=self.url, key=base) from None
        decorated = []
        for entry in entries:
            if entry.is_symlink():
                _warn_link(entry.path)
                continue
            is_dir = entry.is_dir(follow_symlinks=False)
            decorated.append((entry.name + "/" if is_dir else entry.name, is_dir, entry))
        decorated.sort(key=itemgetter(0))
        for _, is_dir, entry in decorated:
            if is_dir:
                yield from self._walk(Path(entry.path), base + entry.name + "/")
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:  # removed while listing
                continue
            if S_ISREG(st.st_mode):
                yield file_info(base + entry.name, st)

    def stat(self, key: str) -> ObjectInfo | None:
        path = self._readable_path(key)
        if path is None:
            return None
        try:
            st = path.stat()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return file_info(key, st) if path.is_file() else None

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        _check_range(start, end)
        with self.open(key) as f:
            if end is not None and end <= start:
                return b""
            size = os.fstat(f.fileno()).st_size
            ranged = start > 0 or end is not None
            if ranged and start >= size:
                raise ValueError(
                    f"{self.url} key {key!r}: range start {start} is not below the object size {size}"
                )
            f.seek(start)
            return f.read() if end is None else f.read(end - start)

    def open(self, key: str) -> BinaryIO:
        path = self._readable_path(key)
        if path is None:
            raise NotFound("no such object (a symbolic link, which is not followed)", url=self.url, key=key)
        try:
            return path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise NotFound("no such object", url=self.url, key=key) from None
        except PermissionError as exc:
            raise StoreError(f"cannot read: {exc.strerror}", url=self.url, key=key) from None

    # -- writing ---------------------------------------------------------------------------------

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        """Content type is not stored: it always follows the extension (see module docstring)."""
        del content_type
        path = self._path(key)
        if not self.root.is_dir():
            raise NotFound("the folder does not exist", url=self.url, key=key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError("a parent of this key is a file", url=self.url, key=key) from None
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARKER}", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                if isinstance(data, bytes | bytearray | memoryview):
                    f.write(data)
                else:
                    shutil.copyfileobj(data, f, _CHUNK)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(tmp, 0o644)  # mkstemp makes 0600; objects should read like normal files
            os.replace(tmp, path)
        except IsADirectoryError:
            raise StoreError("a folder already has this name", url=self.url, key=key) from None
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return file_info(key, path.stat())

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError):
            return
        except IsADirectoryError:
            raise NotFound("no such object (it is a folder)", url=self.url, key=key) from None
        # Drop folders the delete emptied, as an object store has no empty folders.
        parent = path.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    # -- sharing ---------------------------------------------------------------------------------

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        self._path(key)
        if expires_s <= 0:
            raise ValueError("expires_s must be positive")
        if self._signer is None:
            raise InvalidConfig(
                "signing a local folder's URLs needs `recshelf serve`: run it and set media_url and "
                "media_secret (or RECSHELF_MEDIA_URL / RECSHELF_MEDIA_SECRET) to its URL and media secret",
                url=self.url, key=key,
            )
        return self._signer.sign(str(self.root), key, expires_s)

    def _path(self, key: str) -> Path:
        """The file `key` names, for writing or signing: a symlinked key is refused outright."""
        path = self._readable_path(key)
        if path is None:
            raise InvalidConfig("the key passes through a symbolic link, which could lead outside the folder",
                                url=self.url, key=key)
        return path

    def _readable_path(self, key: str) -> Path | None:
        """The file to read for `key` (InvalidConfig for an invalid key), or None for a symlink: missing."""
        problem = key_problem(key)
        if problem is not None:
            raise InvalidConfig(f"invalid key for a folder store: {problem}", url=self.url, key=key)
        return resolve_inside(self.root, key)


def _check_range(start: int, end: int | None) -> None:
    if start < 0 or (end is not None and end < 0):
        raise ValueError(f"byte range must not be negative (start={start}, end={end})")
