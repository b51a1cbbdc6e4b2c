"""The hosted verification flow under `/v/<token>`: HTML pages for the person being verified.

The pages work without JavaScript (plain forms, a processing page that then refreshes itself);
`static/flow.js` adds the live camera, upload progress and status polling where the browser allows.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("flow", __name__, url_prefix="/v")
