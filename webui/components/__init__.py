"""The web UI's own Streamlit components (the hls.js player, the copy-link button)."""

from __future__ import annotations

from typing import Any


def ensure_registered(*declared: Any) -> None:
    """Register declared components with the running server if it does not know them yet.

    Streamlit registers a component only when `declare_component` runs inside a page run; a module first
    imported elsewhere (webui.launch warms the Recordings page's modules in a thread while the server
    starts) would declare it unregistered, and its iframe would stay empty for the whole process.
    """
    from streamlit.runtime import Runtime
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    if get_script_run_ctx() is None or not Runtime.exists():
        return
    registry = Runtime.instance().component_registry
    for component in declared:
        if registry.get_component_path(component.name) is None:
            registry.register_component(component)
