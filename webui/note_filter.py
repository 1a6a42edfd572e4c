"""The Recordings page's note filters (tag, text) and its title / tags columns, from the service database."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
        """The uid's own note, else the whole recording's (uid '')."""
        key = rec.key
        return self.notes.get((key.sid, key.uid or "")) or self.notes.get((key.sid, ""))

    def keeps(self, rec: Recording) -> bool:
        return not self.filtering or self.note_for(rec) is not None

    def row(self, rec: Recording, row: dict[str, Any]) -> dict[str, Any]:
        note = self.note_for(rec)
        return {**row, "title": note.title if note else "", "tags": ", ".join(note.tags) if note else ""}


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
