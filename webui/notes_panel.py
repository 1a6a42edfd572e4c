"""The recording page's note: title, tags and free text, shown to everyone, edited by editors and admins."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore
from webui import access, services


def split_tags(text: str) -> list[str]:
    return [tag for tag in (part.strip() for part in text.split(",")) if tag]


def render(store: ObjectStore, rec: Recording) -> None:
    st.subheader("Notes")
    notes = access.notes()
    sid, uid = rec.key.sid, rec.key.uid or ""
    note = notes.get(store.url, sid, uid)
    if not access.may("notes"):
        st.caption("Viewing only: saving a note needs the editor or admin role.")
    # Not disabled for viewers on purpose: the save handler checks the role, refuses and audits the attempt.
    with st.form(f"note-{rec.id}"):
        title = st.text_input("Title", value=note.title, key=f"note_title-{rec.id}")
        tags = st.text_input("Tags (comma-separated)", value=", ".join(note.tags), key=f"note_tags-{rec.id}",
                             help="Filter the Recordings page by tag.")
        text = st.text_area("Text", value=note.text, key=f"note_text-{rec.id}")
        saved = st.form_submit_button("Save note")
    if note.updated_by:
        when = datetime.fromtimestamp(note.updated_at, UTC)
        st.caption(f"Last changed {when:%Y-%m-%d %H:%M} UTC by {services.md_text(note.updated_by)}")
    if saved:
        target = f"sid {sid}" + (f" uid {uid}" if uid else "")
        done = access.attempt("tag", lambda actor: notes.edit(
            actor, store.url, sid, uid, cname=rec.key.cname, title=title, tags=split_tags(tags), text=text),
            store=store.url, target=target)
        if done is not None:
            st.success("Note saved.")
