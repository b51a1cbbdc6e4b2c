"""A throwaway PostgreSQL server for tests (`bench.servers`, which `idflow bench-scale` shares)."""

from __future__ import annotations

from bench.servers import postgres as server
from bench.servers import postgres_binaries as binaries

__all__ = ["binaries", "server"]
