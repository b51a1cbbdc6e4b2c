"""Time-based one-time codes (RFC 6238, pyotp) for the console's optional second factor.

Codes are the six digits every authenticator app shows, 30 seconds each; one step either side is
accepted for clocks that drift. The caller keeps the step of the last code it accepted and passes
it back, so a code (or an older one) works once: `webapp.operators` stores it on the account.
"""

from __future__ import annotations

import time

import pyotp
import segno
from pyotp.exceptions import OTPVerificationError

ISSUER = "idflow"
DRIFT_STEPS = 1  # a code of the step before or after now is accepted too


def new_secret() -> str:
    """160 random bits in base32, what RFC 4226 recommends and every app reads."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, account: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=account, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, drawn here: the console's CSP runs no script."""
    svg: str = segno.make(uri, error="m").svg_inline(
        scale=4, border=2, dark="#111", light="#fff", svgclass="qr-code", omitsize=True
    )
    return svg


def matching_step(
    secret: str, code: str, last_step: int | None, now: float | None = None
) -> int | None:
    """The time step `code` belongs to, or None when it is wrong or not newer than `last_step`
    (used already, or older than a code used already)."""
    code = code.strip().replace(" ", "")
    if not (len(code) == 6 and code.isdigit()):
        return None
    try:
        step = pyotp.TOTP(secret).verify_and_get_timecode(
            code, for_time=time.time() if now is None else now, valid_window=DRIFT_STEPS
        )
    except OTPVerificationError:
        return None
    return step if last_step is None or step > last_step else None
