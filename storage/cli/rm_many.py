"""`recshelf rm` of many recordings: the sids named (--sid …, --sids-from) and the web UI's verifications.

The sids come from repeated --sid and from a file (one a line, `-` for stdin; blank lines and `#`
comments skipped); a line that is not a sid is an error naming the line, before anything is listed.

The web UI keeps each verification with the fingerprint of the listing it came from (key, size, etag
or time of every playlist and slice). A recording whose listing now gives the same fingerprint, every
object with an etag (so the playlist's content is pinned, not only its time), has that status: its
playlist is not read again. The service database is only read, and only when it exists.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from pathlib import Path

from storage.cli.common import error_exit
from storage.manage.delete import KnownStatus
from storage.recordings.catalog import Recording
from storage.recordings.objects import fingerprint_is_exact, listing_fingerprint
from storage.stores.base import ObjectStore

_SID = re.compile(r"[0-9A-Za-z]+")
_NOT_A_SID = re.compile(r"bak[0-9]+")  # a failover prefix, never a sid (storage.media.naming)


def named_sids(sids: Iterable[str], sids_from: str | None) -> list[str]:
    """The sids of --sid and --sids-from, each once, in the order first named."""
    named = [(f"--sid {sid!r}", sid.strip()) for sid in sids]
    if sids_from is not None:
        named += [(f"--sids-from {sids_from} line {number}", line) for number, line in _lines(sids_from)]
    for where, sid in named:
        if not _SID.fullmatch(sid) or _NOT_A_SID.fullmatch(sid):
            raise error_exit(f"{where}: {sid!r} is not a sid (letters and digits, as in the recording's names)")
    if sids_from is not None and not named:
        raise error_exit(f"--sids-from {sids_from} names no sid")
    return list(dict.fromkeys(sid for _, sid in named))


def _lines(source: str) -> list[tuple[int, str]]:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise error_exit(f"--sids-from {source}: cannot read it ({exc})") from None
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), 1)]
    return [(number, line) for number, line in lines if line and not line.startswith("#")]


def verified_statuses(store_ref: str, store: ObjectStore, data_dir: Path) -> KnownStatus | None:
    """The web UI's verification results for the store (as named here, or by its URL), if any are kept."""
    from storage.service.db import DB_NAME, Database
    from storage.service.repo_verification import VerificationRepo

    if not (data_dir / DB_NAME).is_file():
        return None  # no service database here: nothing was verified, and none is created for a lookup
    repo = VerificationRepo(Database(data_dir))
    cached = repo.statuses(store.url) | repo.statuses(store_ref)  # the name the UI was given wins

    def known(rec: Recording) -> str | None:
        found = cached.get(rec.id)
        if found is None or not fingerprint_is_exact(rec) or found.fingerprint != listing_fingerprint(rec):
            return None
        return found.status

    return known
