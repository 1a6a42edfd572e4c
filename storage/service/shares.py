"""Share links: which recording a link opens, made once by the CLI or the UI, resolved on each visit.

`create_share` picks the recording (by sid, and uid for individual mode) and stores a row with a
fresh random token (storage/service/repo_shares.py). `shared_recordings` finds it again in the store
when the link is opened, so a link made while a recording was still being written plays what the
store holds now.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from storage.errors import ShareError
from storage.recordings.catalog import Recording, find
from storage.service.repo_shares import NewShare, Share, ShareRepo
from storage.signing import MAX_EXPIRY_S, new_share_token
from storage.stores.base import ObjectStore

__all__ = ["ShareError", "ShareRequest", "choose_recordings", "create_share", "durable_store_ref",
           "shared_recordings"]

STREAM_ORDER = {"video": 0, None: 1, "audio": 2}  # what a page plays first when a uid has several streams


@dataclass(frozen=True)
class ShareRequest:
    store: str  # profile name or store URL, as the user gave it
    sid: str
    uid: str | None = None
    cname: str | None = None
    prefix: str = ""
    expires_s: int = 86400
    allow_download: bool = True


def choose_recordings(recordings: Sequence[Recording], sid: str, uid: str | None,
                      cname: str | None = None) -> list[Recording]:
    """The recordings a share of (sid, uid) plays, best stream first; ShareError when none or ambiguous."""
    wanted = [r for r in recordings if r.key.sid.lower() == sid.lower() and r.key.uid == uid
              and (cname is None or r.key.cname == cname) and any(p.playlist for p in r.parts)]
    if not wanted:
        what = f"sid {sid}" + (f", uid {uid}" if uid else " (composite; give --uid for individual mode)")
        raise ShareError(f"no playable recording with {what}")
    places = sorted({(r.folder, r.key.cname) for r in wanted})
    if len(places) > 1:
        listed = ", ".join(f"{folder or '/'} {name}" for folder, name in places[:5])
        raise ShareError(f"sid {sid} has recordings in several folders or channels ({listed}): give --prefix or "
                         "--cname")
    return sorted(wanted, key=lambda r: STREAM_ORDER.get(r.key.stream, 1))


def title_for(rec: Recording) -> str:
    when = f" {rec.start:%Y-%m-%d %H:%M} UTC" if rec.start else ""
    who = f" · uid {rec.key.uid}" if rec.key.uid is not None else ""
    return f"{rec.key.cname}{who}{when}"


def durable_store_ref(ref: str, store: ObjectStore, profile_names: Collection[str]) -> str:
    """What the share row keeps to reopen the store: a profile name as given, a local folder as its
    absolute ``file://`` URL (a relative path would mean another folder to a server started elsewhere),
    any other store URL as given (its query may hold non-secret options the store URL drops)."""
    if ref in profile_names:
        return ref
    return store.url if store.url.startswith("file://") else ref


def create_share(repo: ShareRepo, store: ObjectStore, request: ShareRequest, now: float) -> Share:
    """Store a new link for the request's recording; ShareError when there is no such recording."""
    if request.expires_s <= 0 or request.expires_s > MAX_EXPIRY_S:
        raise ShareError(f"a link lasts from 1 second to {MAX_EXPIRY_S // 86400} days")
    recordings = find(store, prefix=request.prefix, sid=request.sid)
    rec = choose_recordings(recordings, request.sid, request.uid, request.cname)[0]
    return repo.create(NewShare(
        token=new_share_token(), store=request.store, folder=rec.folder, sid=rec.key.sid, cname=rec.key.cname,
        uid=rec.key.uid, recording=rec.id, title=title_for(rec), expires_at=now + request.expires_s,
        allow_download=request.allow_download))


def shared_recordings(store: ObjectStore, share: Share) -> list[Recording]:
    """What the share plays now (best stream first), or [] when the store no longer holds it."""
    try:
        found = [r for r in find(store, prefix=share.folder, sid=share.sid) if r.folder == share.folder]
        return choose_recordings(found, share.sid, share.uid, share.cname)
    except ShareError:
        return []
