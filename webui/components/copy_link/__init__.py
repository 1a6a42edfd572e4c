"""A "Copy share link" button that really copies: navigator.clipboard in a small Streamlit v1 component.

Streamlit's own buttons run Python on the server, which cannot reach the viewer's clipboard. This
component's button calls ``navigator.clipboard.writeText`` in the browser (the component iframe is
allowed ``clipboard-write``) and reports the outcome. Where the clipboard is refused (a page served
over plain http to a non-local address is not a secure context), it says so; the caller shows the
link in ``st.code`` beside it as the fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

from webui.components import ensure_registered

_component = components.declare_component("copy_link", path=str(Path(__file__).resolve().parent))


def copy_link_button(text: str, *, label: str = "Copy share link", key: str | None = None) -> dict[str, Any] | None:
    """Render the button; returns ``{"copied": bool, "text": ...}`` after a click, else None."""
    ensure_registered(_component)
    value = _component(text=text, label=label, key=key, default=None)
    return value if isinstance(value, dict) else None
