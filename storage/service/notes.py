"""Notes on recordings — title, tags, free text — changed through one function that checks the role and audits.

The CLI (`recshelf tag`) and the web UI's recording page both call `edit_note`; reading needs no role
beyond browsing. A note is keyed by the store's URL, the sid and optionally the uid (individual mode).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace

from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.service.repo_notes import Note, NotesRepo, normal_tags
from storage.service.users import Actor

MAX_TITLE = 200
MAX_TEXT = 20_000
MAX_TAGS = 50


class Notes:
    def __init__(self, db: Database) -> None:
        self.repo = NotesRepo(db)
        self.trail = AuditTrail(db)

    def get(self, store: str, sid: str, uid: str | None = None) -> Note:
        """The stored note, or an empty one."""
        return self.repo.get(store, sid, uid or "") or Note(store, sid, uid or "")

    def edit(self, actor: Actor, store: str, sid: str, uid: str | None = None, *, cname: str = "",
             title: str | None = None, add_tags: Iterable[str] = (), remove_tags: Iterable[str] = (),
             tags: Iterable[str] | None = None, text: str | None = None) -> Note:
        """Change what is given (None keeps it); Forbidden (audited) unless the actor may edit notes."""
        target = f"sid {sid}" + (f" uid {uid}" if uid else "")
        self.trail.authorize(actor, "tag", store=store, target=target)
        before = self.get(store, sid, uid)
        new_tags = set(normal_tags(tags) if tags is not None else before.tags)
        new_tags = (new_tags | set(normal_tags(add_tags))) - set(normal_tags(remove_tags))
        after = replace(before, cname=cname or before.cname,
                        title=" ".join(title.split())[:MAX_TITLE] if title is not None else before.title,
                        text=text[:MAX_TEXT] if text is not None else before.text,
                        tags=tuple(sorted(new_tags))[:MAX_TAGS], updated_at=time.time(), updated_by=actor.name)
        if (after.title, after.tags, after.text) == (before.title, before.tags, before.text):
            return before
        self.repo.save(after)
        detail = {"title": after.title, "tags_added": sorted(set(after.tags) - set(before.tags)),
                  "tags_removed": sorted(set(before.tags) - set(after.tags)), "text_changed": after.text != before.text}
        self.trail.record(actor, "tag", store=store, target=target, detail=detail)
        return after

    def search(self, *, store: str | None = None, tag: str | None = None, text: str | None = None) -> list[Note]:
        return self.repo.search(store=store, tag=tag, text=text)

    def tags(self, store: str | None = None) -> list[tuple[str, int]]:
        return self.repo.tags(store)
