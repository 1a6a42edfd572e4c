"""The Recordings page's note filters (tag, text) and its title / tags columns, from the service database."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import streamlit as st

from storage.recordings.catalog import Recording
from storage.service.repo_notes import Note
from webui import access

ANY_TAG = "any tag"


@dataclass(frozen=True)
class NoteMatch:
    """The store's notes by (sid, uid); `filtering` when a tag or text was asked for."""

    notes: dict[tuple[str, str], Note]
    filtering: bool

    def note_for(self, rec: Recording) -> Note | None:
        return self.note_of(rec.key.sid, rec.key.uid or "")

    def note_of(self, sid: str, uid: str) -> Note | None:
        """The uid's own note, else the whole recording's (uid '')."""
        return self.notes.get((sid, uid)) or self.notes.get((sid, ""))

    def keeps(self, sid: str, uid: str) -> bool:
        return not self.filtering or self.note_of(sid, uid) is not None

    def columns(self, sids: Iterable[str], uids: Iterable[str]) -> tuple[list[str], list[str]]:
        """The table's title and tags columns for rows of these sids and uids."""
        notes = [self.note_of(sid, uid) for sid, uid in zip(sids, uids, strict=True)]
        return [n.title if n else "" for n in notes], [", ".join(n.tags) if n else "" for n in notes]


def render(store_url: str) -> NoteMatch:
    """Two inputs in the Filters expander; the notes that match them (every note of the store when none)."""
    notes = access.notes()
    tags = [tag for tag, _ in notes.tags(store_url)]
    c1, c2 = st.columns([1, 2])
    tag = c1.selectbox("Tag", [ANY_TAG, *tags], key="f_tag")
    text = c2.text_input("Note contains", key="f_note", help="Searches notes' titles, texts and tags.").strip()
    chosen = None if tag == ANY_TAG else tag
    found = notes.search(store=store_url, tag=chosen, text=text or None)
    return NoteMatch({(n.sid, n.uid): n for n in found}, filtering=bool(chosen or text))
