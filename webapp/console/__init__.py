"""The operator console under `/console`: server-rendered pages for a platform's staff.

Every page but the login needs a signed-in operator (`views._guard`); personal data is opened
only for reviewers and admins, and each look at it is written to the audit log.
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("console", __name__, url_prefix="/console")
