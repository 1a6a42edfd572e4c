"""Download and share controls of the recording page.

Share links are made by webui/sharing.py (pages served by storage/server/share.py). Exports are written to a file
and offered as a signed, expiring link to the server's media route: `st.download_button` would hold
the whole file in the Streamlit server's memory (playback.md §4.5).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import streamlit as st

from storage.recordings.catalog import Recording
from storage.recordings.downloads import download_name
from storage.signing import sign_media_url
from storage.stores.base import ObjectStore, StoreError
from webui import access, services, sharing

FORMATS = {"mp4": "MP4 (one file, no re-encode)", "ts": "TS (slices joined)", "zip": "zip (playlist + slices)"}
DOWNLOAD_EXPIRY_S = 24 * 3600
SMALL_DOWNLOAD_BYTES = 20_000_000  # without a server, only files this small go through Streamlit's memory


def render(store_ref: str, store: ObjectStore, rec: Recording, recordings: list[Recording],
           report: dict[str, Any]) -> None:
    sharing.render_create(store_ref, store, rec)
    _render_exports(store, rec, recordings, report.get("status", "error"))


def data_dir() -> Path:
    """The data folder ($RECSHELF_DATA, else [server] data in recshelf.toml, else ./recshelf-data)."""
    return services.current_settings().data_dir().absolute()


def export_dir() -> Path:
    return data_dir() / "exports"


def download_url(path: Path, name: str, expires_s: int = DOWNLOAD_EXPIRY_S) -> str | None:
    """A signed, expiring link that downloads an exported file as `name`, or None without a server.

    The URL names the exports folder by its opaque id and the file by its name inside it, never a
    path of this machine; the server sends it as an attachment called `name`.
    """
    settings = services.current_settings()
    base, secret = settings.media_url, settings.media_secret
    if not (base and secret):
        return None
    root = export_dir()
    return sign_media_url(base, secret, str(root), path.relative_to(root).as_posix(), expires_s, download=name)


def _same_uid(rec: Recording, recordings: list[Recording]) -> list[Recording]:
    """Individual mode: audio and video of one uid export together (merged into one MP4)."""
    if rec.key.uid is None:
        return [rec]
    return [r for r in recordings if r.folder == rec.folder and r.key.sid == rec.key.sid
            and r.key.cname == rec.key.cname and r.key.uid == rec.key.uid]


def run_with_progress(store: ObjectStore, recs: list[Recording], fmt: str, allow_incomplete: bool,
                      dest: Any = None, describe: Callable[[Any], str] | None = None) -> list[Any]:
    """Run the export in a worker thread while this script thread moves an `st.progress` bar.

    `dest` is a `storage.export.Destination` (default: the data folder's exports); `describe` words a
    `Progress` snapshot for the bar (default: the current recording's slices).
    """
    from storage.export import Destination, ExportOptions, Progress, run_export
    from webui.job_progress import run_polled

    latest: list[Progress] = []
    bar = st.progress(0.0, text=f"Exporting {fmt.upper()}…")
    dest = dest or Destination.for_folder(export_dir())
    words = describe or (lambda p: f"{p.stage}: {p.slices_done}/{p.slices_total} slices")
    options = ExportOptions(format=fmt, allow_incomplete=allow_incomplete)
    results = run_polled(lambda: run_export(store, recs, dest, options, latest.append), bar,
                         lambda: (latest[-1].job_fraction, words(latest[-1])) if latest else None)
    bar.empty()
    return results


def _render_exports(store: ObjectStore, rec: Recording, recordings: list[Recording], status: str) -> None:
    st.subheader("Download")
    try:
        from storage.export import run_export  # noqa: F401 - only to know whether the engine is installed
    except ImportError:
        st.caption("Downloads need the export engine (storage.export), which is not available here.")
        return
    c1, c2, c3 = st.columns([1, 2, 2])
    fmt = c1.radio("Format", list(FORMATS), key="dl_format", horizontal=False,
                   format_func=lambda f: FORMATS[f])
    allow = status == "complete" or c2.checkbox(
        "Export what exists", key="dl_allow",
        help=f"The recording is {services.status_word(status)}: the file will skip the missing slices, "
             "which are listed.")
    if c3.button("Prepare download", type="primary", disabled=not allow or status == "invalid"):
        try:
            results = access.attempt("export", lambda _: run_with_progress(
                store, _same_uid(rec, recordings), fmt, status != "complete"), store=store.url, target=rec.id)
        except (StoreError, OSError, ValueError) as exc:
            st.error(f"Export failed: {services.safe_md(str(exc))}")
            return
        if results is None:
            return
        done = st.session_state.setdefault("exports", {})
        done[(rec.id, fmt)] = [r.to_dict() for r in results]
    for result in st.session_state.get("exports", {}).get((rec.id, fmt), []):
        _render_result(result, rec)


def _render_result(result: dict[str, Any], rec: Recording) -> None:
    if result["status"] == "failed":
        st.error(services.safe_md(f"{result['name']}: {result.get('error') or 'failed'}"))
        return
    path = Path(result["outputs"][0])
    size = path.stat().st_size if path.exists() else result.get("bytes_out", 0)
    name = download_name(rec, path.suffix.lstrip(".") or "bin")
    label = f"Download {services.md_text(name)} ({services.human_size(size)})"
    if result.get("gaps"):
        st.warning(f"{len(result['gaps'])} missing or empty slice(s) are not in the file.")
    url = download_url(path, name)
    if url:
        # A link to the server streams from disk with Range; nothing is held in Streamlit's memory.
        st.link_button(label, url)
        st.caption(f"The link works for {DOWNLOAD_EXPIRY_S // 3600} hours.")
    elif size <= SMALL_DOWNLOAD_BYTES:
        with path.open("rb") as f:
            st.download_button(label, f.read(), file_name=name)
    else:
        st.info(f"Written to {services.md_code(str(path))} on the machine running recshelf. Start the UI "
                "with `recshelf ui` to get a download link for large files.")
