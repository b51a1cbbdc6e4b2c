"""Settings every tier shares; the fixtures live with the tier that needs them."""

from __future__ import annotations

from hypothesis import settings

# Property tests explore the same examples on every run, so CI is never red by chance.
settings.register_profile("idflow", derandomize=True, deadline=None)
settings.load_profile("idflow")
