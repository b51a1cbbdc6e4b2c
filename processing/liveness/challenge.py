"""The active challenge: which way the person must turn their head while the page films them.

The server draws one at random for each attempt, so a burst recorded for an earlier challenge
fails half the time on direction alone, and the server's single-use binding
(`webapp.liveness`) refuses it outright. Directions are the person's own: "left" is their left,
which is the image's right in an un-mirrored camera frame.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Literal

Direction = Literal["left", "right"]
DIRECTIONS: tuple[Direction, ...] = ("left", "right")


@dataclass(frozen=True)
class Challenge:
    direction: Direction

    @property
    def instruction(self) -> str:
        return f"Look straight at the camera, then slowly turn your head to your {self.direction}."


def new_challenge() -> Challenge:
    """A challenge drawn with the operating system's random source."""
    return Challenge(secrets.choice(DIRECTIONS))
