"""recshelf web UI: `streamlit run webui/app.py` (or `recshelf ui`).

A multipage app: each page is a script in webui/views/, listed once in PAGES.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run` puts this folder, not the project root, on sys.path; a source checkout that is
# not pip-installed still needs `import webui` / `import storage` to work.
ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from webui import auth  # noqa: E402
from webui.favicon import favicon  # noqa: E402

PAGE_DIR = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="recshelf", page_icon=favicon(), layout="wide")

if not auth.require_login():
    st.stop()

PAGES = [
    st.Page(PAGE_DIR / "browse.py", title="Recordings", icon=":material/video_library:", url_path="browse",
            default=True),
    st.Page(PAGE_DIR / "recording.py", title="Recording", icon=":material/play_circle:", url_path="recording"),
    st.Page(PAGE_DIR / "shares.py", title="Shared links", icon=":material/link:", url_path="shares"),
    st.Page(PAGE_DIR / "usage.py", title="Usage", icon=":material/bar_chart:", url_path="usage"),
    st.Page(PAGE_DIR / "cleanup.py", title="Clean-up", icon=":material/cleaning_services:", url_path="cleanup"),
    st.Page(PAGE_DIR / "retention.py", title="Retention", icon=":material/auto_delete:", url_path="retention"),
    st.Page(PAGE_DIR / "events.py", title="Events", icon=":material/notifications:", url_path="events"),
    st.Page(PAGE_DIR / "record.py", title="Record", icon=":material/radio_button_checked:", url_path="record"),
    st.Page(PAGE_DIR / "audit.py", title="Audit", icon=":material/history:", url_path="audit"),
]

st.navigation(PAGES).run()
