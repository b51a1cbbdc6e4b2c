"""The pages speak the person's language: Accept-Language or the picker chooses it, every text
comes from the catalog, and no catalog may lag behind the code (`make translations`)."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from processing.capture import MESSAGES
from processing.liveness import LivenessReason
from processing.liveness.challenge import Challenge
from tests.support.flow import blurred_passport, consent, html, passport_photo, send, start
from tests.support.platform import ApiPlatform
from tests.support.settings import reconfigure
from webapp import i18n
from webapp.jobs import run_pending

PROJECT = Path(__file__).resolve().parents[2]
CATALOGS = PROJECT / "webapp" / "translations"
TRANSLATED = [code for code in i18n.LANGUAGES if code != "en"]


def _german(client: FlaskClient) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de-DE,de;q=0.9,en;q=0.5"


def test_german_browser_gets_german_pages(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    reconfigure(no_csrf, MIN_AGE=120)  # the verdict fails: the result page says why
    _german(client)
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    page = html(client.get(f"{link}/consent"))
    assert '<html lang="de" dir="ltr">' in page
    assert "Bestätigen Sie Ihre Identität" in page and "Verify your identity" not in page
    assert 'value="Weiter"' in page  # the form's button label too
    consent(client, link)
    page = html(client.get(f"{link}/front"))
    assert "Fotografieren Sie Ihren Reisepass" in page and "Schritt 2 von 3" in page
    assert "Das Hochladen ist fehlgeschlagen" in page  # flow.js's sentences, in <body data-text>
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    client.post(f"{link}/review", data={"submit": "Submit"})
    run_pending(no_csrf)
    page = html(client.get(f"{link}/result"))
    assert "Wir konnten Sie noch nicht verifizieren" in page
    assert "jünger als 120" in page and "Verbleibende Versuche: 9" in page
    missing = html(client.get("/no-such-page"))
    assert '<html lang="de"' in missing and "Seite nicht gefunden" in missing


def test_a_refused_photo_is_explained_in_the_page_language(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    _german(client)
    _, link = start(client, platform, options={"document": {"allowed_types": ["passport"]}})
    consent(client, link)
    refused = send(client, f"{link}/front", blurred_passport())
    assert refused.status_code == 422
    page = html(refused)
    assert "Das Foto ist unscharf." in page and MESSAGES["blurry"] not in page


def test_the_live_selfie_speaks_the_page_language(
    no_csrf: Flask, client: FlaskClient, platform: ApiPlatform
) -> None:
    """The head-turn instruction the script shows, and a refused burst's reason."""
    _german(client)
    options = {"document": {"allowed_types": ["passport"], "require_matching_selfie": True}}
    _, link = start(client, platform, options=options)
    consent(client, link)
    assert send(client, f"{link}/front", passport_photo()).status_code == 303
    issued = client.get(f"{link}/selfie/challenge").json or {}
    assert str(issued["instruction"]).startswith("Schauen Sie gerade in die Kamera")
    frame = (io.BytesIO(passport_photo()), "frame0.jpg", "image/jpeg")
    refused = client.post(
        f"{link}/selfie/burst",
        data={"challenge": "not-a-challenge", "times": "0", "frames": [frame]},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert "Die Kamera-Anweisung ist abgelaufen" in html(refused)


def test_arabic_pages_run_right_to_left(client: FlaskClient, platform: ApiPlatform) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ar"
    _, link = start(client, platform)
    page = html(client.get(f"{link}/consent"))
    assert '<html lang="ar" dir="rtl">' in page


def test_the_picker_overrides_the_browser_and_is_remembered(
    client: FlaskClient, platform: ApiPlatform
) -> None:
    _german(client)
    _, link = start(client, platform)
    picked = client.get(f"{link}/consent?lang=fr")
    assert '<html lang="fr"' in html(picked) and "Vérifiez votre identité" in html(picked)
    assert '<option value="fr" lang="fr" selected>' in html(picked)
    assert "idflow_lang=fr" in picked.headers["Set-Cookie"]
    later = html(client.get(f"{link}/consent"))  # the cookie, not the browser's German
    assert '<html lang="fr"' in later
    chinese = html(client.get(f"{link}/consent?lang=zh-CN"))
    assert '<html lang="zh-Hans"' in chinese and "验证您的身份" in chinese


def test_english_stays_the_default(client: FlaskClient, platform: ApiPlatform) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv,fi;q=0.8"  # none of ours
    _, link = start(client, platform)
    page = html(client.get(f"{link}/consent"))
    assert '<html lang="en" dir="ltr">' in page and "Verify your identity" in page


def test_reasons_from_processing_have_their_catalog_message() -> None:
    """The English catalog messages are processing's own words, so neither drifts alone."""
    for code, english in MESSAGES.items():
        assert i18n.CAPTURE_MESSAGES[code]._args[0] == english, code
    assert set(get_args(LivenessReason)) < set(i18n.LIVENESS_MESSAGES)
    for direction, message in i18n.INSTRUCTIONS.items():
        assert message._args[0] == Challenge(direction).instruction  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def wanted(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The messages the code and templates use now, extracted as `make translations` does."""
    pot = tmp_path_factory.mktemp("catalog") / "messages.pot"
    keywords = ["-k", "_l", "-k", "lazy_gettext"]
    command = [sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg"]
    options = ["--no-location", "--omit-header", "-o", str(pot), "."]
    subprocess.run([*command, *keywords, *options], cwd=PROJECT, check=True)
    with pot.open("rb") as file:
        catalog: Catalog = read_po(file)
    return {str(message.id) for message in catalog if message.id}


@pytest.mark.parametrize("locale", TRANSLATED)
def test_catalog_is_complete_and_compiled(wanted: set[str], locale: str) -> None:
    folder = CATALOGS / locale / "LC_MESSAGES"
    with (folder / "messages.po").open("rb") as file:
        catalog = read_po(file)
    have = {str(message.id): message for message in catalog if message.id}
    assert sorted(wanted - set(have)) == [], "missing: run `make translations` and translate"
    assert sorted(set(have) - wanted) == [], "stale: run `make translations`"
    untranslated = [mid for mid, message in have.items() if not message.string]
    fuzzy = [mid for mid, message in have.items() if message.fuzzy]
    assert untranslated == [] and fuzzy == []
    for mid, message in have.items():  # every placeholder survives translation
        placeholders = set(re.findall(r"%\(\w+\)s", mid))
        assert placeholders == set(re.findall(r"%\(\w+\)s", str(message.string))), mid
    with (folder / "messages.mo").open("rb") as file:
        compiled = read_mo(file)
    assert {m.id: m.string for m in compiled if m.id} == {
        mid: message.string for mid, message in have.items()
    }, "the .mo is older than the .po: run `make translations`"
