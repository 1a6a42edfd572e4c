"""`python -m webui.launch run webui/app.py …`: Streamlit's own command line, with the first page's work begun early.

Streamlit imports a page's modules and lists its store only when the first browser opens it, so
the first visitor of a fresh `recshelf ui` waited for pandas and pyarrow to import (about a second)
and for the whole listing of the store the UI was started on. Here a background thread does both
while Streamlit's server starts, filling the same `st.cache_resource` entries the Recordings page
reads; a page that asks meanwhile waits for that computation (Streamlit's per-entry lock) instead
of starting a second one. Nothing is computed that the page would not compute itself: it would list the same store and
verify the same first page.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)
# Cached functions called outside a page run log "missing ScriptRunContext" once per call.
_CONTEXT_LOGGER = "streamlit.runtime.scriptrunner_utils.script_run_context"


def warm() -> None:
    """Import the Recordings page's modules, build the configured store's table, verify its first page.

    The first page is the one a visitor sees before touching anything (newest first, default size),
    handed to the same background verification the page starts; the page then finds it done or pending.
    """
    import pandas  # noqa: F401 - the table's frames
    import pyarrow  # noqa: F401 - how st.dataframe sends them

    from webui import browse_table, services, state, table

    store_ref = services.current_settings().env.ui_store
    verifications = state.verifications()
    if not store_ref:
        return
    frames = state.table_frames(store_ref, "")  # the page's default prefix is none
    by_id = state.recordings_by_id(store_ref, "")
    statuses = verifications.statuses(store_ref)
    rows = table.sort_rows(table.with_statuses(frames, statuses, set()), table.DEFAULT_ORDER)
    first = browse_table.page_members(frames, table.page_of(rows, table.DEFAULT_PAGE_SIZE, 1), by_id)
    verifications.submit(store_ref, state.get_store(store_ref), first, cached=statuses)


def _warm_quietly() -> None:
    context_log = logging.getLogger(_CONTEXT_LOGGER)
    level = context_log.level
    context_log.setLevel(logging.ERROR)
    try:
        warm()
    except Exception as exc:  # noqa: BLE001 - the page does the same work again and shows the error itself
        log.info("warming the web UI failed (%s: %s); the first page does the work", type(exc).__name__, exc)
    finally:
        context_log.setLevel(level)


def main() -> None:
    from streamlit.web.cli import main as streamlit_main

    threading.Thread(target=_warm_quietly, name="recshelf-warm", daemon=True).start()
    streamlit_main(prog_name="streamlit")


if __name__ == "__main__":
    main()
