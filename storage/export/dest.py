"""Where exports go: a local folder or any store, with atomic commits, a work folder and manifests.

* Single-file outputs (mp4, ts, zip) are built under a temp name — in the destination folder itself
  for a local folder (`ts`: in the work folder beside it, on the same file system), so the final
  `os.replace` is atomic; in the work folder for a store, then uploaded with one `write` (stores
  never show a partial object). Nothing ever exists under the final name until it is whole.
* The work folder holds the resume cache of fetched slices (for `ts`, the partial output itself).
  For a local destination it sits next to the outputs (`.recshelf-work/<name>/`); for a store, under
  the system temp folder keyed by the store URL, so a re-run on the same machine resumes. It is
  removed when the export succeeds.
* A manifest (`.recshelf/<output>.json`) records what an output was made from (source keys, sizes,
  etags) and what was written (key, size, and mtime or etag). A re-run skips an output whose manifest
  still matches both the sources and the output.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from storage.stores.base import ObjectStore, content_type_for
from storage.stores.local import TEMP_MARKER, LocalStore

MANIFEST_DIR = ".recshelf"
WORK_DIR = ".recshelf-work"
MANIFEST_VERSION = 1


class Destination:
    def __init__(self, store: ObjectStore, local_root: Path | None = None, work_root: Path | None = None) -> None:
        self.store = store
        self.local_root = local_root  # set when the destination is a folder on this machine
        if work_root is None:
            if local_root is not None:
                work_root = local_root / WORK_DIR
            else:
                tag = hashlib.sha1(store.url.encode()).hexdigest()[:16]
                work_root = Path(tempfile.gettempdir()) / "recshelf-work" / tag
        self.work_root = work_root

    @classmethod
    def for_folder(cls, folder: str | Path, work_root: Path | None = None) -> Destination:
        root = Path(folder).expanduser().absolute()
        root.mkdir(parents=True, exist_ok=True)
        return cls(LocalStore(root), root, work_root)

    @classmethod
    def for_store(cls, store: ObjectStore) -> Destination:
        """The registry's scheme tells a folder on this machine (written in place) from any other store."""
        from storage.stores.registry import parse_store_url

        if store.url.partition("://")[0] == "file":
            return cls.for_folder(parse_store_url(store.url).prefix)
        return cls(store)

    @property
    def url(self) -> str:
        return self.store.url

    def location(self, key: str) -> str:
        """What to show a user for an output: a path for a folder, the store URL and key otherwise."""
        if self.local_root is not None:
            return str(self.local_root.joinpath(*key.split("/")))
        return f"{self.store.url.rstrip('/')}/{key}"

    def work_dir(self, name: str) -> Path:
        return self.work_root / name

    def clean_work(self, name: str) -> None:
        shutil.rmtree(self.work_dir(name), ignore_errors=True)
        with suppress(OSError):
            self.work_root.rmdir()  # only when empty: other exports may still be resumable

    @contextmanager
    def temp_file(self, key: str) -> Iterator[Path]:
        """A fresh temp path for building `key`; deleted afterwards unless `commit_file` moved it."""
        if self.local_root is not None:
            final = self.local_root.joinpath(*key.split("/"))
            final.parent.mkdir(parents=True, exist_ok=True)
            self.remove_stale_temps([key])
            # LocalStore listings skip names with this marker, so a half-built output is never listed.
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}{TEMP_MARKER}", dir=final.parent)
        else:
            folder = self.work_dir(key.replace("/", "_"))
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".out-", dir=folder)
        os.close(fd)
        path = Path(tmp)
        try:
            yield path
        finally:
            with suppress(FileNotFoundError):
                path.unlink()

    def remove_stale_temps(self, keys: Iterable[str]) -> None:
        """Delete the temp files a run killed outright (no cleanup ran) left while writing these keys.

        Only a local folder has them: LocalStore writes ".<name>.recshelf-tmp-<random>" next to the
        target, and listings hide them, so without this a rerun that succeeds would keep them for ever.
        A store never shows a partial object. One scan per folder, however many keys it holds.
        """
        if self.local_root is None:
            return
        names_by_folder: dict[Path, set[str]] = {}
        for key in keys:
            final = self.local_root.joinpath(*key.split("/"))
            names_by_folder.setdefault(final.parent, set()).add(final.name)
        for folder, names in names_by_folder.items():
            try:
                with os.scandir(folder) as entries:
                    stale = [e.path for e in entries if _temp_of(e.name) in names]
            except (FileNotFoundError, NotADirectoryError):
                continue
            for path in stale:
                with suppress(FileNotFoundError):
                    os.unlink(path)

    def commit_file(self, tmp: Path, key: str) -> dict[str, Any]:
        """Make `tmp` the output `key` in one step; returns the manifest record of the output.

        A local output is identified by size and modification time (ns), which any rewrite changes;
        hashing a multi-GB MP4 would put a second full read on the critical path of every export.
        A store output is identified by size and the etag the store returned.
        """
        if self.local_root is not None:
            final = self.local_root.joinpath(*key.split("/"))
            final.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o644)
            try:
                os.replace(tmp, final)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                self._copy_across(tmp, final)  # a work folder on another file system than the outputs
            st = final.stat()
            return {"key": key, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
        with tmp.open("rb") as f:
            info = self.store.write(key, f, content_type_for(key))
        return {"key": key, "size": info.size, "etag": info.etag}

    def _copy_across(self, tmp: Path, final: Path) -> None:
        fd, beside = tempfile.mkstemp(prefix=f".{final.name}{TEMP_MARKER}", dir=final.parent)
        try:
            with os.fdopen(fd, "wb") as out, tmp.open("rb") as src:
                shutil.copyfileobj(src, out, 8 << 20)
            os.chmod(beside, 0o644)
            os.replace(beside, final)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(beside)
        tmp.unlink()

    # -- manifests -------------------------------------------------------------------------------

    def manifest_key(self, output: str) -> str:
        return f"{MANIFEST_DIR}/{output.replace('/', '_')}.json"

    def read_manifest(self, output: str) -> dict[str, Any] | None:
        key = self.manifest_key(output)
        try:
            if self.store.stat(key) is None:
                return None
            data = json.loads(self.store.read(key))
        except (ValueError, OSError):
            return None
        return data if isinstance(data, dict) and data.get("version") == MANIFEST_VERSION else None

    def write_manifest(self, output: str, manifest: dict[str, Any]) -> None:
        body = json.dumps({"version": MANIFEST_VERSION, **manifest}, indent=1, sort_keys=True).encode()
        key = self.manifest_key(output)
        self.remove_stale_temps([key])
        if self.local_root is None:
            self.store.write(key, body, "application/json")
            return
        # Atomic but not fsynced, unlike LocalStore.write: on ext4 that fsync also flushed the whole output
        # just renamed into place (0.3 s per hour of video). The manifest is only a skip marker, checked
        # against the output's size and mtime before it is trusted, so losing it in a crash costs a rerun.
        path = self.local_root.joinpath(*key.split("/"))
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}{TEMP_MARKER}", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(body)
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        finally:
            with suppress(FileNotFoundError):
                os.unlink(tmp)

    def outputs_match(self, outputs: list[dict[str, Any]]) -> bool:
        """True when every recorded output is still there, unchanged (size, and mtime or etag)."""
        for rec in outputs:
            info = self.store.stat(rec["key"])
            if info is None or info.size != rec["size"]:
                return False
            if self.local_root is not None and "mtime_ns" in rec:
                path = self.local_root.joinpath(*rec["key"].split("/"))
                if path.stat().st_mtime_ns != rec["mtime_ns"]:
                    return False
            elif rec.get("etag") and info.etag != rec["etag"]:
                return False
        return True


def _temp_of(name: str) -> str | None:
    """The output name a ".<name>.recshelf-tmp-<random>" temp file was being written for, else None."""
    base, marker, _ = name.partition(TEMP_MARKER)
    return base[1:] if marker and base.startswith(".") else None
