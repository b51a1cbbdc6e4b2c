"""Hostile uploads through the hosted flow's capture step: each gets a 4xx page that says why, or is
accepted for what its bytes really are, never a 5xx, and the session stays usable afterwards.

The corpus is built here in code: empty, cut-off and lying files, decompression bombs, documents
that are not photos, extreme shapes, every EXIF orientation value and some that are not.
"""

from __future__ import annotations

import functools
import html
import io
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
import pillow_heif
import pytest
from flask import Flask
from flask.testing import FlaskClient
from numpy.typing import NDArray
from PIL import Image
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import TestResponse, encode_multipart

from processing import capture
from processing.capture import MESSAGES
from processing.samples import make_document
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from webapp.db import database
from webapp.models import UploadedFile

JPEG_TYPE = "image/jpeg"
_NOTICE = re.compile(r'<div class="notice error" role="alert">\s*<p>(.*?)</p>', re.S)
_FORM_ERROR = re.compile(r'<p class="notice error" role="alert">(.*?)</p>', re.S)
_MB = 1024 * 1024


@dataclass(frozen=True)
class Upload:
    data: bytes
    filename: str = "photo.jpg"
    content_type: str = JPEG_TYPE


@dataclass(frozen=True)
class Case:
    build: Callable[[], Upload]
    status: int  # 303: accepted for what the bytes are; 413 too large; 422 refused with a reason
    reason: str | None = None  # a fragment of the message the person must see (422 only)


def _png(image: NDArray[np.uint8]) -> bytes:
    ok, encoded = cv2.imencode(".png", image)
    assert ok
    return bytes(encoded.tobytes())


@functools.cache
def passport() -> NDArray[np.uint8]:
    return make_document("td3", 1).front


@functools.cache
def good_jpeg() -> bytes:
    return jpeg(passport())


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_declaring(width: int, height: int, idat: bytes) -> bytes:
    """A PNG whose header claims `width` x `height` 8-bit grey pixels, with the given data."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", idat)
        + _chunk(b"IEND", b"")
    )


def png_header_bomb() -> Upload:
    """50000 x 50000 declared, almost nothing inside: must be refused from the header alone."""
    return Upload(_png_declaring(50_000, 50_000, zlib.compress(b"\x00" * 50_001)), "bomb.png")


def png_zlib_bomb() -> Upload:
    """A real, complete 12000 x 12000 PNG of zeros: 144 Mpx inflated from ~140 KB."""
    side = 12_000
    packer = zlib.compressobj(9)
    row = b"\x00" * (side + 1)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    return Upload(_png_declaring(side, side, idat), "bomb.png", "image/png")


def _with_frame_size(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its SOF0 marker rewritten to claim another size."""
    at = data.index(b"\xff\xc0")
    return data[: at + 5] + struct.pack(">HH", height, width) + data[at + 9 :]


def jpeg_header_bomb() -> Upload:
    small = jpeg(np.full((64, 64, 3), 200, np.uint8))
    return Upload(_with_frame_size(small, 65_000, 65_000))


def jpeg_claims_more_than_it_holds() -> Upload:
    """Under the pixel limit with the data of 64 x 64: libjpeg pads it grey, no document in it."""
    small = jpeg(np.full((64, 64, 3), 200, np.uint8))
    return Upload(_with_frame_size(small, 6000, 6000))


def jpeg_solid_36mpx() -> Upload:
    """A complete 6000 x 6000 JPEG of one colour: tiny file, full decode, no document in it."""
    return Upload(jpeg(np.full((6000, 6000, 3), 90, np.uint8), quality=50))


def _exif_jpeg(image: NDArray[np.uint8], exif: bytes) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


# How to store an upright document so that EXIF orientation N shows it upright again: the inverse
# of what a viewer does for N (flips and half-turns are their own inverse; quarter turns swap).
_STORE_FOR_ORIENTATION: dict[int, Callable[[NDArray[np.uint8]], NDArray[np.uint8]]] = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, 1),
    7: lambda a: np.rot90(a, 1)[::-1],
    8: lambda a: np.rot90(a, -1),
}


def exif_orientation(value: int) -> Callable[[], Upload]:
    """Valid values 1..8 hold a turned document; anything else must be treated as 1 (upright)."""

    def build() -> Upload:
        exif = Image.Exif()
        exif[0x0112] = value
        store = _STORE_FOR_ORIENTATION.get(value, _STORE_FOR_ORIENTATION[1])
        pixels = np.ascontiguousarray(store(passport()))
        return Upload(_exif_jpeg(pixels, exif.tobytes()))

    return build


def exif_orientation_text() -> Upload:
    """The orientation tag as the ASCII text "garbage" instead of a number."""
    entry = struct.pack(">HHII", 0x0112, 2, 8, 26)  # tag, type ASCII, count, offset of the text
    tiff = b"MM\x00*" + struct.pack(">I", 8) + struct.pack(">H", 1) + entry + b"\x00" * 4
    return Upload(_exif_jpeg(passport(), b"Exif\x00\x00" + tiff + b"garbage\x00"))


def exif_garbage_block() -> Upload:
    block = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08" + b"\xff\x12" + os.urandom(64)
    return Upload(_exif_jpeg(passport(), block))


def heic_passport() -> Upload:
    buffer = io.BytesIO()
    pillow_heif.from_pillow(Image.fromarray(passport()[:, :, ::-1])).save(buffer, quality=90)
    return Upload(buffer.getvalue(), "IMG_0001.HEIC", "image/heic")


def heic_truncated() -> Upload:
    data = heic_passport().data
    return Upload(data[: len(data) // 2], "IMG_0001.HEIC", "image/heic")


def polyglot_jpeg_zip() -> Upload:
    """A real photo with a ZIP archive after its end marker (a ZIP is read from its end)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as packed:
        packed.writestr("payload.html", "<script>alert(1)</script>")
    data = good_jpeg() + archive.getvalue()
    assert zipfile.is_zipfile(io.BytesIO(data))
    return Upload(data)


def _pillow(fmt: str, image: NDArray[np.uint8]) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image[:, :, ::-1]).save(buffer, fmt)
    return buffer.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">'
    b'<script>alert(document.cookie)</script><rect width="800" height="600"/></svg>'
)
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(app.alert(1))>>"
    b">>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
HTML_PAGE = b"<!doctype html><html><body><script>alert(1)</script></body></html>"

TOO_BIG = "The photo is too large"
EMPTY = "The file is empty"
NOT_A_PHOTO = "The file is not a photo"
DAMAGED = "incomplete"
TOO_MANY_PIXELS = "far too many pixels"
ACCEPTED = 303

CASES: dict[str, Case] = {
    "zero_bytes": Case(lambda: Upload(b""), 422, EMPTY),
    "truncated_jpeg": Case(lambda: Upload(good_jpeg()[: len(good_jpeg()) // 2]), 422, DAMAGED),
    "truncated_png": Case(
        lambda: Upload(_png(passport())[:50_000], "photo.png", "image/png"), 422, DAMAGED
    ),
    "png_header_bomb_50000x50000": Case(png_header_bomb, 422, TOO_MANY_PIXELS),
    "png_zlib_bomb_12000x12000": Case(png_zlib_bomb, 422, "144 million pixels"),
    "jpeg_header_bomb_65000x65000": Case(jpeg_header_bomb, 422, TOO_MANY_PIXELS),
    "jpeg_sof_6000x6000_without_data": Case(jpeg_claims_more_than_it_holds, 422),
    "jpeg_solid_6000x6000": Case(jpeg_solid_36mpx, 422),
    "svg_with_script": Case(lambda: Upload(SVG, "photo.svg", "image/svg+xml"), 422, NOT_A_PHOTO),
    "svg_named_jpeg": Case(lambda: Upload(SVG), 422, NOT_A_PHOTO),
    "pdf": Case(lambda: Upload(PDF, "scan.pdf", "application/pdf"), 422, "This is a PDF"),
    "html": Case(lambda: Upload(HTML_PAGE, "photo.html", "text/html"), 422, NOT_A_PHOTO),
    "html_named_jpeg": Case(lambda: Upload(HTML_PAGE), 422, NOT_A_PHOTO),
    "random_bytes": Case(lambda: Upload(os.urandom(100_000)), 422, NOT_A_PHOTO),
    "gif": Case(lambda: Upload(_pillow("GIF", passport()), "a.gif"), 422, "GIF images are not"),
    "tiff": Case(lambda: Upload(_pillow("TIFF", passport()), "a.tif"), 422, "TIFF images are not"),
    "60_mb": Case(lambda: Upload(b"\xff\xd8\xff\xe0" + os.urandom(60 * _MB)), 413, TOO_BIG),
    "1x1": Case(lambda: Upload(_png(np.zeros((1, 1, 3), np.uint8)), "a.png"), 422, "1x1 pixels"),
    "100000x1": Case(
        lambda: Upload(_png(np.full((1, 100_000, 3), 255, np.uint8)), "a.png"), 422, "100000x1"
    ),
    "1x100000": Case(
        lambda: Upload(_png(np.full((100_000, 1, 3), 255, np.uint8)), "a.png"), 422, "1x100000"
    ),
    "heic_truncated": Case(heic_truncated, 422, DAMAGED),
    "polyglot_jpeg_zip": Case(polyglot_jpeg_zip, ACCEPTED),
    "heic_passport": Case(heic_passport, ACCEPTED),
    "jpeg_named_gif_sent_as_pdf": Case(
        lambda: Upload(good_jpeg(), "photo.gif", "application/pdf"), ACCEPTED
    ),
    "png_named_jpeg": Case(lambda: Upload(_png(passport()), "photo.jpg", JPEG_TYPE), ACCEPTED),
    "path_traversal_filename": Case(
        lambda: Upload(good_jpeg(), "../../../../etc/passwd\x00.jpg", "image/jpeg" * 20), ACCEPTED
    ),
    "exif_garbage_block": Case(exif_garbage_block, ACCEPTED),
    "exif_orientation_text": Case(exif_orientation_text, ACCEPTED),
    **{
        f"exif_orientation_{value}": Case(exif_orientation(value), ACCEPTED)
        for value in (0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 255, 65535)
    },
}


@pytest.fixture
def flow(app: Flask) -> Flask:
    app.config["WTF_CSRF_ENABLED"] = False
    assert app.config["MAX_CONTENT_LENGTH"] == 15 * _MB  # the shipped default
    return app


def _start(client: FlaskClient, platform: ApiPlatform) -> str:
    body = {"type": "document", "options": {"document": {"allowed_types": ["passport"]}}}
    response = client.post("/v1/verification_sessions", headers=platform.headers, json=body)
    assert response.status_code == 200, response.get_json()
    url: str = response.get_json()["url"]
    link = "/v/" + url.rsplit("/v/", 1)[1]
    assert client.post(f"{link}/consent", data={"accept": "Continue"}).status_code == 303
    return link


def _send(client: FlaskClient, url: str, upload: Upload) -> TestResponse:
    """The multipart body is encoded in memory: the test client's own spool file for large
    bodies is never closed (a ResourceWarning), and it is the server's handling under test."""
    file = FileStorage(io.BytesIO(upload.data), upload.filename, content_type=upload.content_type)
    boundary, body = encode_multipart({"photo": file})
    return client.post(url, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _message(page: str) -> str:
    found = _NOTICE.search(page) or _FORM_ERROR.search(page)
    assert found is not None, page[:2000]
    return html.unescape(found.group(1)).strip()


def _stored_code(app: Flask) -> str:
    """The capture code of the one upload kept so far."""
    with database(app).sessions() as db:
        (upload,) = db.scalars(select(UploadedFile))
        code: str = upload.check["code"]
        return code


def _assert_reviewable(client: FlaskClient, link: str) -> None:
    """The session reached review, and its photo comes back re-encoded, never as sent."""
    assert client.get(link).headers["Location"] == f"{link}/review"
    review = client.get(f"{link}/review")
    assert review.status_code == 200
    sources = re.findall(r'<img src="([^"]+)"', review.get_data(as_text=True))
    assert len(sources) == 1
    thumbnail = client.get(sources[0])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert thumbnail.data[:2] == b"\xff\xd8" and b"PK\x03\x04" not in thumbnail.data


@pytest.mark.parametrize("name", list(CASES))
def test_hostile_upload_is_refused_kindly_and_the_session_goes_on(
    name: str, flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    case = CASES[name]
    link = _start(client, platform)
    response = _send(client, f"{link}/front", case.build())
    assert response.status_code == case.status, (name, response.status_code)
    assert response.mimetype == "text/html"
    if case.status == ACCEPTED:
        assert response.headers["Location"] == link
        _assert_reviewable(client, link)
        return
    page = response.get_data(as_text=True)
    if case.status == 413:
        assert f"<h1>{TOO_BIG}</h1>" in page and f'href="{link}/front"' in page
    message = _message(page) if case.status == 422 else TOO_BIG
    if case.reason is not None:
        assert case.reason in message, (name, message)
    else:
        assert message in MESSAGES.values(), (name, message)
    if case.status == 422:  # a file that is no photo costs no try, a refused photo one
        costs = _stored_code(flow) not in capture.NOT_A_PHOTO
        assert f"Tries left: {9 if costs else 10}" in page, name
    assert client.get(link).headers["Location"] == f"{link}/front"
    assert _send(client, f"{link}/front", Upload(good_jpeg())).status_code == ACCEPTED
    _assert_reviewable(client, link)


def test_a_post_without_a_file_says_what_is_missing(
    flow: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    link = _start(client, platform)
    for data in ({}, {"photo": "not a file"}, {"photo": (io.BytesIO(b"x"), "")}):
        response = client.post(f"{link}/front", data=data, content_type="multipart/form-data")
        assert response.status_code == 422
        assert _message(response.get_data(as_text=True)) == "Take or choose a photo first."
    assert _send(client, f"{link}/front", Upload(good_jpeg())).status_code == ACCEPTED
