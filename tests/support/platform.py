"""A platform with an API key, as `idflow platform create` makes one."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask

from webapp.db import database
from webapp.platforms import create_platform


@dataclass(frozen=True)
class ApiPlatform:
    id: str
    secret_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.secret_key}"}


def make_platform(app: Flask, name: str = "Test platform") -> ApiPlatform:
    with database(app).sessions() as db:
        created = create_platform(db, name)
    return ApiPlatform(created.platform.id, created.secret_key)
