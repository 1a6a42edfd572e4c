"""The HTML a share link answers with: the player page, and pages in words for links that do not work.

Everything shown is escaped; nothing shown names the store, its folder, a server path or a secret
(the title was chosen when the link was made, from the channel name and the start time). The page
loads the hls.js shipped in the package (storage/recordings/player_assets) and its own small script
from this server, never from a CDN; a strict Content-Security-Policy and ``Referrer-Policy:
no-referrer`` keep the token out of the slices' requests to the bucket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from storage.recordings.player_assets import HLS_JS_NAME

ASSET_PATH = "/share/assets"  # hls.js and the page script, served by storage/server/share.py
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the page URL holds the token: never send it to a bucket
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    # Slices come from a bucket's signed URLs (any host); hls.js plays them through MSE (blob:).
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; "
                               "connect-src *; media-src * blob:; worker-src blob:; img-src data:; "
                               "base-uri 'none'; form-action 'none'; frame-ancestors *",
}

_STYLE = """
  body { margin: 0; font-family: system-ui, sans-serif; background: #f6f6f4; color: #1d1d1b; }
  main { max-width: 960px; margin: 0 auto; padding: 24px 16px 48px; }
  h1 { font-size: 1.5rem; margin: 0 0 4px; overflow-wrap: anywhere; }
  .facts { color: #555; margin: 0 0 16px; }
  .facts span + span::before { content: " · "; }
  video { width: 100%; max-height: 70vh; background: #000; display: block; border-radius: 6px; }
  .actions { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin-top: 14px; }
  a.button { background: #1565c0; color: #fff; padding: 8px 16px; border-radius: 6px; text-decoration: none; }
  .raw { font-size: 0.9rem; color: #555; overflow-wrap: anywhere; }
  #status { color: #b00020; margin-top: 8px; min-height: 1.2em; }
  .note { color: #555; font-size: 0.9rem; }
"""


@dataclass(frozen=True)
class PlayerPage:
    token: str
    title: str
    channel: str
    start: datetime | None
    duration_s: float | None
    expires: datetime
    playlist_url: str  # absolute, for VLC / Safari
    download: bool
    uid: str | None = None


def _document(title: str, body: str, *, scripts: str = "") -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<meta name="robots" content="noindex"><link rel="icon" href="data:,">'
            f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
            f"<body><main>{body}</main>{scripts}</body></html>\n")


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown length"
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def player_page(page: PlayerPage) -> str:
    facts = [f"<span>channel {escape(page.channel)}</span>"]
    if page.uid is not None:
        facts.append(f"<span>uid {escape(page.uid)}</span>")
    if page.start is not None:
        facts.append(f'<span>started <time datetime="{page.start.isoformat()}">'
                     f"{page.start:%Y-%m-%d %H:%M:%S} UTC</time></span>")
    facts.append(f'<span id="duration">{escape(duration_text(page.duration_s))}</span>')
    token = escape(page.token)
    download = (f'<a class="button" id="download" href="{token}/download" download>Download MP4</a>'
                if page.download else "")
    body = (
        f"<h1>{escape(page.title)}</h1><p class=\"facts\">{''.join(facts)}</p>"
        f'<video id="video" controls playsinline preload="metadata" data-src="{token}/playlist.m3u8"></video>'
        f'<div id="status" role="alert"></div>'
        f'<div class="actions">{download}'
        f'<span class="raw">In VLC or Safari: <a id="playlist" href="{escape(page.playlist_url)}">'
        f"{escape(page.playlist_url)}</a></span></div>"
        f'<p class="note">This link works until {page.expires:%Y-%m-%d %H:%M} UTC.</p>'
    )
    scripts = (f'<script src="{ASSET_PATH}/{HLS_JS_NAME}"></script>'
               f'<script src="{ASSET_PATH}/share.js"></script>')
    return _document(page.title, body, scripts=scripts)


def message_page(heading: str, text: str) -> str:
    """A page in words for a link that does not open a recording (expired, revoked, unknown, …)."""
    return _document(heading, f"<h1>{escape(heading)}</h1><p>{escape(text)}</p>")


# The page script: plays the share's playlist with hls.js (Safari natively), reports in words, and
# exposes its state as window.__sharePlayer for tests. Served as a file so the CSP needs no inline script.
SHARE_JS = """"use strict";
(function () {
  const video = document.getElementById("video");
  const status = document.getElementById("status");
  const state = window.__sharePlayer = { errors: [], fatal: null, gaps: 0, ended: false, loaded: false };
  const src = video.dataset.src;
  function say(text) { status.textContent = text; }
  video.addEventListener("ended", function () { state.ended = true; });
  video.addEventListener("loadedmetadata", function () { state.loaded = true; });
  if (window.Hls && Hls.isSupported()) {
    const hls = new Hls({ enableWorker: true });
    hls.on(Hls.Events.ERROR, function (_event, data) {
      state.errors.push({ details: data.details, fatal: !!data.fatal });
      if (data.details === "fragGap") state.gaps += 1;
      if (data.fatal) {
        state.fatal = data.details;
        say("Playback stopped (" + data.details + "). Reload the page to try again.");
      }
    });
    hls.loadSource(src);
    hls.attachMedia(video);
  } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
    video.src = src;  // Safari plays HLS itself
  } else {
    say("This browser cannot play HLS. Open the playlist link below in VLC.");
  }
})();
"""
