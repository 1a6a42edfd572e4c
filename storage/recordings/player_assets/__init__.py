"""hls.js as shipped in the package: one copy for the web UI's player and the server's share pages.

``hls.min.js`` is hls.js 1.7.4 from the npm package's ``dist/`` (Apache-2.0, ``LICENSE.hls.js``): the
full build, because the light one leaves out alternate audio renditions, which an individual-mode
uid's master playlist (storage/recordings/master.py) needs. It lives here, below both faces, because
`webui` and `storage.server` may not import each other (DESIGN.md "Layers"). No CDN at run time. To
upgrade, `npm pack hls.js@<version>` and copy ``dist/hls.min.js`` and ``LICENSE``; stay on 1.7.x or
later (EXT-X-GAP fixes, hls.js PR #6988).
"""

from __future__ import annotations

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent
HLS_JS_NAME = "hls.min.js"
HLS_JS = ASSETS_DIR / HLS_JS_NAME
HLS_JS_VERSION = "1.7.4"
