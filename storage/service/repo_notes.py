"""Every SQL statement of notes: a title, tags and free text per recording (store + sid [+ uid]).

Portable SQL only (`?` placeholders, LOWER and LIKE … ESCAPE), so the PostgreSQL backend translates it as is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from storage.service.db import Database, transaction

LIKE_ESCAPE = "\\"
IN_CHUNK = 500  # ids per `IN (…)`: far below every backend's limit on parameters


@dataclass(frozen=True)
class Note:
    store: str  # ObjectStore.url
    sid: str
    uid: str = ""  # '' = the whole recording
    cname: str = ""
    title: str = ""
    tags: tuple[str, ...] = ()
    text: str = ""
    updated_at: float = 0.0
    updated_by: str = ""

    @property
    def empty(self) -> bool:
        return not (self.title or self.tags or self.text)

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "sid": self.sid, "uid": self.uid or None, "cname": self.cname,
                "title": self.title, "tags": list(self.tags), "text": self.text, "updatedAt": self.updated_at,
                "updatedBy": self.updated_by}


def normal_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Trimmed, lower-case, inner whitespace collapsed, no empties, no duplicates, sorted."""
    return tuple(sorted({" ".join(tag.split()).lower() for tag in tags} - {""}))


def like_pattern(text: str) -> str:
    """`%text%` for LIKE, with the wildcards typed by the user taken literally."""
    escaped = text.lower().replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class NotesRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def _conn(self) -> sqlite3.Connection:
        return self.db.conn()

    def get(self, store: str, sid: str, uid: str = "") -> Note | None:
        row = self._conn().execute("SELECT * FROM notes WHERE store = ? AND sid = ? AND uid = ?",
                                   (store, sid, uid or "")).fetchone()
        return self._notes([row])[0] if row is not None else None

    def save(self, note: Note) -> Note:
        """Insert or replace the recording's note (its tags replaced too); an empty note is removed."""
        conn = self._conn()
        with transaction(conn, immediate=True):
            row = conn.execute("SELECT id FROM notes WHERE store = ? AND sid = ? AND uid = ?",
                               (note.store, note.sid, note.uid)).fetchone()
            if row is not None:
                conn.execute("DELETE FROM note_tags WHERE note_id = ?", (row["id"],))
            if note.empty:
                conn.execute("DELETE FROM notes WHERE store = ? AND sid = ? AND uid = ?",
                             (note.store, note.sid, note.uid))
                return note
            if row is None:
                conn.execute("INSERT INTO notes (store, sid, uid, cname, title, body, updated_at, updated_by) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                             (note.store, note.sid, note.uid, note.cname, note.title, note.text, note.updated_at,
                              note.updated_by))
                row = conn.execute("SELECT id FROM notes WHERE store = ? AND sid = ? AND uid = ?",
                                   (note.store, note.sid, note.uid)).fetchone()
            else:
                conn.execute("UPDATE notes SET cname = ?, title = ?, body = ?, updated_at = ?, updated_by = ? "
                             "WHERE id = ?", (note.cname, note.title, note.text, note.updated_at, note.updated_by,
                                              row["id"]))
            conn.executemany("INSERT INTO note_tags (note_id, tag) VALUES (?, ?)",
                             [(row["id"], tag) for tag in normal_tags(note.tags)])
        return note

    def search(self, *, store: str | None = None, tag: str | None = None, text: str | None = None,
               limit: int = 10_000) -> list[Note]:
        """Notes with this tag and whose title, text or a tag contains `text` (case-insensitive), newest first."""
        where, args = ["1 = 1"], []
        if store:
            where.append("n.store = ?")
            args.append(store)
        if tag:
            where.append("EXISTS (SELECT 1 FROM note_tags AS t WHERE t.note_id = n.id AND t.tag = ?)")
            args += [next(iter(normal_tags([tag])), "")]
        if text:
            pattern = like_pattern(text)
            where.append("(LOWER(n.title) LIKE ? ESCAPE '\\' OR LOWER(n.body) LIKE ? ESCAPE '\\' OR EXISTS "
                         "(SELECT 1 FROM note_tags AS t WHERE t.note_id = n.id AND t.tag LIKE ? ESCAPE '\\'))")
            args += [pattern, pattern, pattern]
        rows = self._conn().execute(f"SELECT n.* FROM notes AS n WHERE {' AND '.join(where)} "
                                    "ORDER BY n.updated_at DESC, n.id DESC LIMIT ?", (*args, limit)).fetchall()
        return self._notes(rows)

    def tags(self, store: str | None = None) -> list[tuple[str, int]]:
        """Every tag in use (in this store) with how many notes carry it, most used first."""
        where, args = ("WHERE n.store = ? ", (store,)) if store else ("", ())
        rows = self._conn().execute(
            "SELECT t.tag AS tag, COUNT(*) AS uses FROM note_tags AS t JOIN notes AS n ON n.id = t.note_id "
            f"{where}GROUP BY t.tag ORDER BY COUNT(*) DESC, t.tag", args).fetchall()
        return [(row["tag"], int(row["uses"])) for row in rows]

    def _notes(self, rows: Sequence[sqlite3.Row]) -> list[Note]:
        if not rows:
            return []
        ids = [row["id"] for row in rows]
        tags: dict[int, list[str]] = {}
        for start in range(0, len(ids), IN_CHUNK):
            chunk = ids[start:start + IN_CHUNK]
            marks = ", ".join("?" for _ in chunk)
            for tag_row in self._conn().execute(f"SELECT note_id, tag FROM note_tags WHERE note_id IN ({marks}) "
                                                "ORDER BY tag", chunk):
                tags.setdefault(tag_row["note_id"], []).append(tag_row["tag"])
        return [Note(row["store"], row["sid"], row["uid"], row["cname"], row["title"], tuple(tags.get(row["id"], ())),
                     row["body"], float(row["updated_at"]), row["updated_by"]) for row in rows]
