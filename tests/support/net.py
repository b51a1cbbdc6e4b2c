"""Loopback ports for the servers tests start (`bench.servers` has the one helper)."""

from __future__ import annotations

from bench.servers import free_port

__all__ = ["free_port"]
