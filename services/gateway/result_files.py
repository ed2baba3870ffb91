"""How a copied result file is served from the gateway's own origin (`GET /results/...`).

The file and its content type come from an upstream, and the gateway's origin also holds the
console: an SVG or HTML result opened there would run its script with the admin's session. So
only passive types on a short list are shown inline, and nothing is ever a live document of ours:

- every file gets `nosniff` and a sandboxing policy (an opaque origin, no script, no requests);
- types off the list (HTML, XML, script, PDF, anything unknown) are sent as
  `application/octet-stream` with `Content-Disposition: attachment`: a download, never a page;
- SVG keeps its type, so `<img>` tags (where an image runs no script) still show it, but opened
  by itself it is an attachment too.
"""
from __future__ import annotations

import re

PASSIVE_TYPES = frozenset({
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "video/mp4", "video/webm", "video/quicktime", "video/ogg",
    "audio/mpeg", "audio/mp4", "audio/wav", "audio/x-wav", "audio/ogg", "audio/webm", "audio/flac", "audio/aac",
    "text/plain", "application/json", "application/octet-stream",
})
IMAGE_BUT_ACTIVE = "image/svg+xml"
DOWNLOAD_TYPE = "application/octet-stream"
# Shown inline, a media file becomes the browser's own viewer document: it needs its own bytes
# (`'self'`) and its viewer's inline style, nothing else; `sandbox` gives it an opaque origin.
SANDBOX = ("sandbox; default-src 'none'; img-src 'self' data:; media-src 'self'; style-src 'unsafe-inline'; "
           "frame-ancestors 'none'")
_TOKEN = re.compile(r"^[a-z0-9][a-z0-9.+-]*/[a-z0-9][a-z0-9.+-]*$")
_CHARSET = re.compile(r"^charset=([A-Za-z0-9._-]{1,40})$", re.IGNORECASE)


def serving_headers(content_type: str, name: str) -> tuple[str, dict[str, str]]:
    """The media type to send a stored file with, and the headers that keep it inert.
    `name` is a stored file's name, already limited to letters, digits, `_-.` (`safe_key`)."""
    media_type, *parameters = [part.strip() for part in content_type.split(";")]
    media_type = media_type.lower()
    headers = {"Content-Security-Policy": SANDBOX, "X-Content-Type-Options": "nosniff"}
    attachment = {"Content-Disposition": f'attachment; filename="{name}"'}
    if media_type == IMAGE_BUT_ACTIVE:
        return media_type, {**headers, **attachment}
    if not _TOKEN.match(media_type) or media_type not in PASSIVE_TYPES:
        return DOWNLOAD_TYPE, {**headers, **attachment}
    if media_type == "text/plain" and len(parameters) == 1 and (charset := _CHARSET.match(parameters[0])):
        return f"{media_type}; charset={charset.group(1)}", headers
    return media_type, headers
