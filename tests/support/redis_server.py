"""A throwaway Redis server for tests (`bench.servers`, which `idflow bench-scale` shares)."""

from __future__ import annotations

from bench.servers import redis as server
from bench.servers import redis_installed as installed

__all__ = ["installed", "server"]
