"""An exported MP4 plays in Debian's headless Chromium (file:// page with a <video>)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage.export import Destination
from storage.stores.base import ObjectStore
from tests.export.conftest import KEY, export
from tests.webui.test_browser import chromium  # noqa: F401  (the shared, module-scoped browser fixture)

pytestmark = pytest.mark.browser


def test_exported_mp4_plays_past_two_seconds(chromium: Any,  # noqa: F811
                                             local_store_factory: Callable[..., ObjectStore],
                                             recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    store = local_store_factory()
    recording_factory(store, "rec/", KEY, slices=4, failover_parts=1)  # a failover join inside, too
    [result] = export(store, Destination.for_folder(tmp_path / "out"), "mp4")
    assert result.status == "exported", result.error
    page_file = tmp_path / "out" / "play.html"
    page_file.write_text(f'<video id="v" src="{KEY.base}.mp4" muted autoplay playsinline></video>')
    page = chromium.new_page()
    try:
        page.goto(page_file.as_uri())
        page.wait_for_function("() => { const v = document.getElementById('v');"
                               " return v.error !== null || v.currentTime > 2.0; }", timeout=30_000)
        assert page.evaluate("document.getElementById('v').error") is None
        assert page.evaluate("document.getElementById('v').duration") == pytest.approx(8.0, abs=1.0)
    finally:
        page.close()
