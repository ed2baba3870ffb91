"""Result files kept by `local` result storage are served from the gateway's own origin, so a
file's upstream-given type must never make it active content there (`services/gateway/result_files.py`):
passive media and text are shown, sandboxed; anything else (SVG, HTML, XML, script) is a download."""
from __future__ import annotations

import httpx
import pytest

from services.gateway.result_files import serving_headers
from tests.harness.stored_results import stored

PASSIVE = ["image/png", "image/jpeg", "image/webp", "image/gif", "video/mp4", "audio/mpeg", "application/json",
           "application/octet-stream"]
ACTIVE = ["text/html", "application/xhtml+xml", "text/xml", "application/xml", "text/javascript",
          "application/javascript", "application/pdf", "text/css", "multipart/x-mixed-replace", "",
          "image/png, text/html", "nonsense"]


@pytest.mark.parametrize("content_type", PASSIVE)
def test_passive_types_are_shown_inline_with_their_type(content_type):
    media_type, headers = serving_headers(content_type, "out.bin")
    assert media_type == content_type
    assert "content-disposition" not in {name.lower() for name in headers}
    assert headers["Content-Security-Policy"].startswith("sandbox; default-src 'none'")


def test_text_keeps_a_plain_charset_only():
    assert serving_headers("text/plain; charset=ISO-8859-1", "a.txt")[0] == "text/plain; charset=ISO-8859-1"
    assert serving_headers('text/plain; charset="x"; boundary=y', "a.txt")[0] == "text/plain"


@pytest.mark.parametrize("content_type", ACTIVE)
def test_active_or_unknown_types_are_downloads_never_documents(content_type):
    media_type, headers = serving_headers(content_type, "out.svg")
    assert media_type == "application/octet-stream"
    assert headers["Content-Disposition"] == 'attachment; filename="out.svg"'
    assert "sandbox" in headers["Content-Security-Policy"]


@pytest.mark.parametrize("content_type", ["image/svg+xml", "IMAGE/SVG+XML; charset=utf-8"])
def test_svg_stays_an_image_for_img_tags_but_opens_as_a_download(content_type):
    media_type, headers = serving_headers(content_type, "out.svg")
    assert media_type == "image/svg+xml"  # an <img> shows it, and an image runs no script
    assert headers["Content-Disposition"] == 'attachment; filename="out.svg"'
    assert "sandbox" in headers["Content-Security-Policy"]


async def test_a_stored_svg_is_served_as_a_sandboxed_download(stack):
    url = await stored(stack, "image.svg", "image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    async with httpx.AsyncClient(timeout=10) as anyone:
        response = await anyone.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/svg+xml"
    assert response.headers["content-disposition"] == 'attachment; filename="image.svg"'
    assert response.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"


async def test_a_stored_png_is_shown_inline_and_sandboxed(stack):
    url = await stored(stack, "image.png", "image/png", b"\x89PNG\r\n\x1a\n")
    async with httpx.AsyncClient(timeout=10) as anyone:
        response = await anyone.get(url)
    assert response.headers["content-type"] == "image/png" and "content-disposition" not in response.headers
    assert response.headers["content-security-policy"].startswith("sandbox; default-src 'none'")
    assert response.headers["x-content-type-options"] == "nosniff"
