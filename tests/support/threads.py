"""Holding a request half-way, to make a race certain."""

from __future__ import annotations

import threading
from typing import Any

import pytest


class Paused:
    """Stops the thread that calls `target` inside it until released, and says when one is
    there: a request held half-way, at the point a real one spends its time."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> None:
        self.arrived = threading.Event()
        self.release = threading.Event()
        original = getattr(owner, name)

        def paused(*args: Any, **kwargs: Any) -> Any:
            self.arrived.set()
            assert self.release.wait(30)
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, paused)
