"""A platform's brand on the hosted pages: set by `idflow platform brand`, shown readable and
escaped, its icon checked, re-encoded and served from the flow with caching headers."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image

from tests.support.flow import PHONE, html, start
from tests.support.platform import ApiPlatform
from webapp import branding
from webapp.cli import main
from webapp.db import database
from webapp.errors import InvalidRequest
from webapp.models import Platform

_STYLESHEET = re.compile(r'href="(/v/brand/[^"]+\.css)"')
_ICON = re.compile(r'src="(/v/brand/[^"]+\.png)"')


def _image(kind: str, size: tuple[int, int] = (600, 300)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 90)).save(out, format=kind)
    return out.getvalue()


def _brand(app: Flask, monkeypatch: pytest.MonkeyPatch, *args: str) -> int:
    """`idflow platform brand ...` against the test's own database."""
    monkeypatch.setenv("IDFLOW_DATA_DIR", app.config["DATA_DIR"])
    monkeypatch.setenv("IDFLOW_DATABASE_URL", app.config["DATABASE_URL"])
    monkeypatch.setenv("IDFLOW_SECRET_KEY", app.config["SECRET_KEY"])
    return main(["platform", "brand", *args])


def _page(client: FlaskClient, platform: ApiPlatform) -> str:
    _, link = start(client, platform)
    return html(client.get(f"{link}/consent", headers={"User-Agent": PHONE}))


def test_the_command_sets_the_brand_and_the_page_shows_it(
    app: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    icon = tmp_path / "icon.webp"
    icon.write_bytes(_image("WEBP"))
    assert (
        _brand(
            app,
            monkeypatch,
            platform.id,
            "--name",
            "Acme Rentals",
            "--color",
            "#0B5D1E",
            "--icon",
            str(icon),
        )
        == 0
    )
    assert "Acme Rentals" in capsys.readouterr().out
    with database(app).sessions() as db:
        row = db.get(Platform, platform.id)
        assert row is not None and row.brand_color == "#0b5d1e" and row.brand_icon is not None
        assert Image.open(io.BytesIO(row.brand_icon)).size == (256, 128)
    page = _page(client, platform)
    assert "<span>Acme Rentals</span>" in page and "· Acme Rentals</title>" in page
    assert ">idflow<" not in page
    stylesheet = _STYLESHEET.search(page)
    assert stylesheet is not None
    style = client.get(stylesheet.group(1))
    assert style.status_code == 200 and style.mimetype == "text/css"
    assert "--accent:#0b5d1e" in style.get_data(as_text=True)  # dark enough as given
    assert "immutable" in style.headers["Cache-Control"]


def test_a_pale_accent_is_darkened_until_white_text_is_readable(
    app: Flask,
    client: FlaskClient,
    platform: ApiPlatform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert branding.contrast("#ffff66", branding.WHITE) < 1.2
    assert _brand(app, monkeypatch, platform.id, "--color", "#FFFF66") == 0
    assert "too pale" in capsys.readouterr().out
    page = _page(client, platform)
    stylesheet = _STYLESHEET.search(page)
    assert stylesheet is not None and stylesheet.group(1).endswith("/ffff66.css")
    css = client.get(stylesheet.group(1)).get_data(as_text=True)
    accent = re.search(r"--accent:(#[0-9a-f]{6})", css)
    assert accent is not None and accent.group(1) != "#ffff66"
    shown = accent.group(1)
    assert branding.contrast(shown, branding.WHITE) >= branding.MIN_CONTRAST
    assert branding.contrast(shown, branding.PAGE_BACKGROUND) >= branding.MIN_CONTRAST
    red, green, blue = (int(shown[i : i + 2], 16) for i in (1, 3, 5))
    assert red == green and blue < red  # the same yellow, darker: the hue is kept
    assert client.get(stylesheet.group(1).replace("ffff66", "000000")).status_code == 404


def test_a_bad_icon_is_refused_with_a_clear_error(
    app: Flask,
    platform: ApiPlatform,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    not_image = tmp_path / "icon.png"
    not_image.write_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
    assert _brand(app, monkeypatch, platform.id, "--icon", str(not_image)) == 2
    assert "could not be read as a PNG, JPEG or WebP image" in capsys.readouterr().err
    gif = tmp_path / "icon.gif"
    gif.write_bytes(_image("GIF"))
    assert _brand(app, monkeypatch, platform.id, "--icon", str(gif)) == 2
    assert "must be a PNG, JPEG or WebP image" in capsys.readouterr().err
    with pytest.raises(InvalidRequest, match="too large"):
        branding.icon_png(b"\0" * (branding.MAX_ICON_BYTES + 1))
    with pytest.raises(InvalidRequest, match="too many pixels"):
        branding.icon_png(_image("PNG", (5000, 4000)))
    assert _brand(app, monkeypatch, platform.id, "--color", "blue") == 2
    assert "#RRGGBB" in capsys.readouterr().err
    with database(app).sessions() as db:
        row = db.get(Platform, platform.id)
        assert row is not None and row.brand_icon is None and row.brand_color is None


def test_the_icon_route_serves_a_cacheable_png(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    with database(app).sessions() as db:
        branding.set_brand(db, platform.id, icon=_image("JPEG", (100, 80)))
    page = _page(client, platform)
    found = _ICON.search(page)
    assert found is not None and 'alt=""' in page  # the name beside it says who it is
    response = client.get(found.group(1))
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert Image.open(io.BytesIO(response.data)).size == (100, 80)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "img-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get(found.group(1).replace(".png", "0.png")).status_code == 404
    assert client.get(f"/v/brand/{platform.id}/0000.png").status_code == 404


def test_the_display_name_is_escaped(
    app: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    with database(app).sessions() as db:
        branding.set_brand(db, platform.id, name='<script>alert("x")</script>')
    page = _page(client, platform)  # `html` fails on any inline script
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_without_a_brand_the_platform_name_and_idflow_colours_show(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    page = _page(client, platform)
    assert "<span>Test platform</span>" in page
    assert _STYLESHEET.search(page) is None and "favicon.svg" in page
