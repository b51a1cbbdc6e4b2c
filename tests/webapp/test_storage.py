"""`IDFLOW_STORAGE_URL` chooses the store in one place (`webapp.storage.open_store`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from flask import Flask

from tests.support.crypto import app_with, ring
from webapp.config import Settings, settings
from webapp.storage import EncryptingStorage, LocalStorage, S3Storage, open_store, storage


def _with_url(app: Flask, url: str, endpoint: str = "") -> Settings:
    return Settings.from_config({**app.config, "STORAGE_URL": url, "S3_ENDPOINT_URL": endpoint})


def test_the_data_folder_is_the_default_store(app: Flask) -> None:
    found = storage(app)
    assert isinstance(found, EncryptingStorage) and isinstance(found.inner, LocalStorage)
    assert found.inner.root == Path(app.config["DATA_DIR"]) / "files"
    assert settings(app).storage_url == found.inner.root.as_uri()


def test_a_bucket_with_a_prefix_and_an_endpoint(app: Flask) -> None:
    store = open_store(_with_url(app, "s3://photos/idflow/eu/", "http://minio:9000"))
    assert isinstance(store, S3Storage)
    assert (store.bucket, store.prefix, store.endpoint_url) == (
        "photos",
        "idflow/eu/",
        "http://minio:9000",
    )
    bare = open_store(_with_url(app, "s3://photos"))
    assert isinstance(bare, S3Storage) and (bare.prefix, bare.endpoint_url) == ("", None)
    with pytest.raises(ValueError, match="not a storage key"):
        bare.save("../escape", None)  # type: ignore[arg-type]  # refused before it is read


@pytest.mark.parametrize("url", ["s3://", "ftp://host/x", "file://elsewhere/x", "photos"])
def test_a_storage_url_it_cannot_use_stops_the_start(app: Flask, url: str) -> None:
    with pytest.raises(SystemExit, match="IDFLOW_STORAGE_URL"):
        open_store(_with_url(app, url))


def test_a_folder_given_as_a_file_url(tmp_path: Path) -> None:
    keys, _ = ring("k1")
    app = app_with(tmp_path / "data", keys, STORAGE_URL=(tmp_path / "elsewhere").as_uri())
    found = storage(app)
    assert isinstance(found, EncryptingStorage) and isinstance(found.inner, LocalStorage)
    assert found.inner.root == tmp_path / "elsewhere"


def test_a_bucket_without_boto3_installed_stops_the_start(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)  # an import of it now fails
    with pytest.raises(SystemExit, match=r"pip install 'idflow\[s3\]'"):
        open_store(_with_url(app, "s3://photos"))
