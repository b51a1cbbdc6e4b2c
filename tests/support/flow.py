"""The hosted flow walked through Flask's test client: a session started through the API, its
pages, its forms and its uploads."""

from __future__ import annotations

import functools
import io
import re
from typing import Any
from urllib.parse import urlsplit

import cv2
import numpy as np
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from processing.samples import make_document, photograph
from tests.support.images import jpeg
from tests.support.platform import ApiPlatform
from tests.support.stand_ins import stand_in
from webapp.db import database
from webapp.models import VerificationSession

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36"
RETURN_URL = "https://platform.example/done?order=42"
# What a CSP without 'unsafe-inline' blocks: inline scripts, event handler and style attributes.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|\sstyle\s*=|<style", re.I)


@functools.cache
def passport_photo() -> bytes:
    """A genuine stand-in (no generator code or SPECIMEN print, a real face): live sessions
    refuse idflow's own samples."""
    document = stand_in("td3", 1)
    photo, _ = photograph(
        document.front, np.random.default_rng(1), machine_box=document.machine_box_front
    )
    return jpeg(photo)


@functools.cache
def blurred_passport() -> bytes:
    """A photo refused for what the person can fix (it is blurred): it costs a try."""
    return jpeg(cv2.GaussianBlur(make_document("td3", 1).front, (0, 0), 6))


def html(response: TestResponse) -> str:
    """The page's text, checked to keep to the CSP: nothing inline that would be blocked."""
    text = response.get_data(as_text=True)
    assert INLINE.search(text) is None, INLINE.search(text)
    return text


def start(client: FlaskClient, platform: ApiPlatform, **params: Any) -> tuple[str, str]:
    """A new session through the API: its id and the path of its hosted link."""
    body = {"type": "document", "return_url": RETURN_URL, **params}
    response = client.post("/v1/verification_sessions", headers=platform.headers, json=body)
    assert response.status_code == 200, response.json
    created = response.json
    assert created is not None
    return created["id"], urlsplit(created["url"]).path


def consent(client: FlaskClient, link: str) -> None:
    response = client.post(f"{link}/consent", data={"accept": "Continue"})
    assert response.status_code == 303


def send(client: FlaskClient, url: str, data: bytes, name: str = "photo.jpg") -> TestResponse:
    return client.post(
        url,
        data={"photo": (io.BytesIO(data), name, "image/jpeg")},
        content_type="multipart/form-data",
    )


def landing(client: FlaskClient, response: TestResponse) -> str:
    """Follow a redirect chain by hand and return the path the person lands on."""
    while response.status_code in (302, 303):
        location = response.headers["Location"]
        response = client.get(location)
    return response.request.path


def session_row(app: Flask, session_id: str) -> VerificationSession:
    with database(app).sessions() as db:
        found = db.scalar(select(VerificationSession).where(VerificationSession.id == session_id))
        assert found is not None
        return found
