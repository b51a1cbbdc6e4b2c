"""The languages of the pages people read: which one a request gets, and the catalog messages
for the reasons `processing` gives in English.

`processing` never imports Flask, so its capture, liveness and verdict reasons stay English
there (operators and the API see them as they are); a page maps the reason's code to the
message here, which goes through the catalog (`webapp/translations`, `make translations`).

The language comes from `?lang=` (the picker on every page, remembered in a cookie), else the
cookie, else the browser's Accept-Language, else English.
"""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask import Flask, Response, current_app, has_request_context, request
from flask_babel import Babel, get_locale, lazy_gettext
from flask_babel.speaklater import LazyString

# Locale code, and its name in its own language for the picker.
LANGUAGES: dict[str, str] = {
    "en": "English",
    "es": "Español",
    "fr": "Français",
    "de": "Deutsch",
    "pt": "Português",
    "it": "Italiano",
    "nl": "Nederlands",
    "pl": "Polski",
    "tr": "Türkçe",
    "ja": "日本語",
    "zh_Hans": "简体中文",
    "ar": "العربية",
}
RIGHT_TO_LEFT = frozenset({"ar"})
COOKIE = "idflow_lang"
_COOKIE_SECONDS = 365 * 24 * 3600
# Browsers send region tags (zh-CN, pt-BR): the language they stand for here.
_ALIASES = {"zh": "zh_Hans", "zh_CN": "zh_Hans", "zh_SG": "zh_Hans", "zh_Hans_CN": "zh_Hans"}


def _known(tag: str | None) -> str | None:
    """The supported locale a `?lang=` or cookie value names, or None."""
    if not tag:
        return None
    tag = tag.replace("-", "_")
    return tag if tag in LANGUAGES else _ALIASES.get(tag)


def select_locale() -> str:
    """The picker's choice, else the cookie's, else the browser's best match, else English;
    English outside a request too (the `idflow` commands share the operators' messages)."""
    if not has_request_context():
        return "en"
    chosen = _known(request.args.get("lang")) or _known(request.cookies.get(COOKIE))
    if chosen is not None:
        return chosen
    offered = [*LANGUAGES, *(tag.replace("_", "-") for tag in _ALIASES)]
    best = request.accept_languages.best_match([tag.replace("_", "-") for tag in offered])
    return _known(best) or "en"


def _remember(response: Response) -> Response:
    """A language picked with `?lang=` stays for the following pages (and the next visit)."""
    chosen = _known(request.args.get("lang"))
    if chosen is not None and request.cookies.get(COOKIE) != chosen:
        response.set_cookie(
            COOKIE,
            chosen,
            max_age=_COOKIE_SECONDS,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),  # as `webapp.security`
        )
    return response


def page_language() -> dict[str, Any]:
    """What base.html needs: `lang`/`dir` on <html>, the picker, and flow.js's sentences."""
    locale = str(get_locale() or "en")
    return {
        "page_lang": locale.replace("_", "-"),
        "page_dir": "rtl" if locale in RIGHT_TO_LEFT else "ltr",
        "page_locale": locale,
        "languages": LANGUAGES,
        "script_text": {key: str(text) for key, text in SCRIPT_TEXT.items()},
    }


def one_of(items: list[Any]) -> str:
    """`a, b or c` as the page's language writes such a choice (Babel's CLDR list patterns)."""
    return format_list([str(item) for item in items], style="or", locale=get_locale() or "en")


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.context_processor(page_language)
    app.add_template_filter(one_of)
    app.after_request(_remember)


# The sentences static/flow.js shows, handed over in a JSON block of base.html.
SCRIPT_TEXT: dict[str, LazyString] = {
    "upload_failed": lazy_gettext("The upload did not work. Try again."),
    "too_large_title": lazy_gettext("The photo is too large"),
    "too_large_text": lazy_gettext(
        "Take a new photo with the camera, or choose a smaller photo, and try again."
    ),
    "connection": lazy_gettext("The upload failed. Check your connection and try again."),
    "camera_fallback": lazy_gettext(
        "The camera could not be opened. Use the photo button below instead."
    ),
    "shot_failed": lazy_gettext("The photo could not be taken. Try again."),
    "try_again": lazy_gettext("Try again"),
    "selfie_unprepared": lazy_gettext("The selfie could not be prepared. Reload the page."),
    "camera_missing": lazy_gettext(
        "The camera could not be opened. Continue on a phone with a camera, with the link below."
    ),
    # Live hints under the camera's preview.
    "hint_dark": lazy_gettext("Too dark: move to a brighter place."),
    "hint_far": lazy_gettext("Move closer: the document should fill the frame."),
    "hint_still": lazy_gettext("Hold still."),
    "hint_ready": lazy_gettext("Good. Hold still: the photo is taken by itself."),
}

# `processing.capture.MESSAGES`, by capture code, in the same English.
CAPTURE_MESSAGES: dict[str, LazyString] = {
    "side_not_needed": lazy_gettext(
        "A passport has no back side to photograph. Continue to the next step."
    ),
    "document_cut_off": lazy_gettext(
        "Part of the document is outside the photo. Move the phone back a little so all four "
        "edges show."
    ),
    "document_too_far": lazy_gettext(
        "The document is too small in the photo. Move the phone closer so the document fills "
        "most of the picture."
    ),
    "document_not_found": lazy_gettext(
        "We could not find the document in the photo. Lay it flat on a plain, dark surface so "
        "all four edges show, and fill most of the picture with it."
    ),
    "too_dark": lazy_gettext("The photo is too dark. Move to a brighter place or turn on a light."),
    "overexposed": lazy_gettext(
        "The photo is too bright and the text is washed out. Move away from direct light or the "
        "flash."
    ),
    "glare": lazy_gettext(
        "There is a reflection on the document. Tilt the document away from the light, or move "
        "away from the lamp, so nothing shines on it."
    ),
    "glare_on_mrz": lazy_gettext(
        "Light reflects on the lines of <<< characters at the bottom. Tilt the document away "
        "from the light so they are not washed out."
    ),
    "blurry": lazy_gettext("The photo is blurry. Hold the phone still and let it focus."),
    "mrz_not_found": lazy_gettext(
        "We could not find the machine-readable zone (the lines of <<< characters at the "
        "bottom). Make sure the whole page is in the photo."
    ),
    "mrz_unreadable": lazy_gettext(
        "We could not read the lines of <<< characters at the bottom clearly. Take the photo "
        "again in even light, without reflections, and in focus."
    ),
    "barcode_not_found": lazy_gettext(
        "We could not read the barcode on the back. Lay the licence flat, photograph the whole "
        "back with the large barcode, and keep it in focus."
    ),
    "no_face": lazy_gettext(
        "We could not see a face. Face the camera in good light, with nothing covering your face."
    ),
    "multiple_faces": lazy_gettext(
        "More than one face is in the photo. Make sure only you are in the picture."
    ),
    "face_too_small": lazy_gettext(
        "Your face is too small in the photo. Hold the phone closer so your face fills most of "
        "the picture."
    ),
    "photo_not_live": lazy_gettext(
        "This photo was taken earlier. Take a new photo now with your camera."
    ),
    # Files the loader refused (`processing.load`): its reasons carry figures, these do not.
    "not_an_image": lazy_gettext(
        "This file is not a photo. Take a photo with the camera, or choose a JPEG, PNG, WebP or "
        "HEIC photo."
    ),
    "unsupported_format": lazy_gettext(
        "This kind of file cannot be used. Take a photo with the camera, or choose a JPEG, PNG, "
        "WebP or HEIC photo."
    ),
    "damaged_file": lazy_gettext(
        "The photo file is incomplete or damaged. Take or upload the photo again."
    ),
    "too_large": lazy_gettext(
        "The photo has too many pixels. Send a normal camera photo, not a scan at very high "
        "resolution."
    ),
    "too_small": lazy_gettext(
        "The photo is too small to read. Take a photo of the whole document with the phone's "
        "camera."
    ),
}
# `processing.capture`'s wrong-side messages, by (document type, side).
WRONG_SIDE: dict[tuple[str, str], LazyString] = {
    ("id_card", "front"): lazy_gettext(
        "This looks like the back of the card. Photograph the front, with the photo on it."
    ),
    ("id_card", "back"): lazy_gettext(
        "This looks like the front of the card. Turn it over and photograph the back, with the "
        "lines of <<< characters at the bottom."
    ),
    ("driving_license", "front"): lazy_gettext(
        "This looks like the back of the licence. Photograph the front, with your photo on it."
    ),
    ("driving_license", "back"): lazy_gettext(
        "This looks like the front of the licence. Turn it over and photograph the back, with "
        "the large barcode."
    ),
}
# `processing.liveness`'s reasons by reason code, and the stale challenge (`webapp.liveness`).
LIVENESS_MESSAGES: dict[str, LazyString] = {
    "liveness_stale": lazy_gettext(
        "The camera instruction has expired or was already used. Start the selfie again."
    ),
    "liveness_too_few_frames": lazy_gettext(
        "The camera sent too few pictures. Keep the page open and follow the instruction until "
        "the capture finishes."
    ),
    "liveness_timing": lazy_gettext(
        "The pictures were not taken over a few seconds as a camera takes them. Try again and "
        "follow the instruction on the screen."
    ),
    "liveness_repeated_frames": lazy_gettext(
        "The same picture was sent more than once. Use your camera directly, not a photo or a "
        "recording."
    ),
    "liveness_face_missing": lazy_gettext(
        "Your face was not visible in every picture. Keep your whole face in the frame while you "
        "turn."
    ),
    "liveness_multiple_faces": lazy_gettext(
        "More than one face was seen. Make sure only you are in front of the camera."
    ),
    "liveness_spoof": lazy_gettext(
        "It looks like a photo or a screen was held up to the camera. Take the selfie with your "
        "own face in front of the camera."
    ),
    "liveness_turn_missing": lazy_gettext(
        "We did not see you turn your head the way the screen asked. Look straight at the "
        "camera, then slowly turn your head as asked."
    ),
    "liveness_flat_picture": lazy_gettext(
        "Your face moved like a flat picture, not a head. Take the selfie with your own face in "
        "front of the camera."
    ),
    "liveness_identity_changed": lazy_gettext(
        "The face changed during the capture. Only you should be in front of the camera."
    ),
    "liveness_replayed": lazy_gettext("These pictures were sent before. Take a new selfie."),
}
# The head-turn instruction, by direction (`processing.liveness.Challenge.instruction`).
INSTRUCTIONS: dict[str, LazyString] = {
    "left": lazy_gettext("Look straight at the camera, then slowly turn your head to your left."),
    "right": lazy_gettext("Look straight at the camera, then slowly turn your head to your right."),
}
# Why a verification failed, by the session's `last_error.code`: the person's side of it.
VERDICT_MESSAGES: dict[str, LazyString] = {
    "document_expired": lazy_gettext("The document has expired; use one still valid."),
    "document_unverified_other": lazy_gettext(
        "We could not confirm your document from these photos. Take them again in even light, "
        "with the whole document in view and in focus."
    ),
    "document_type_not_supported": lazy_gettext(
        "This kind of document is not accepted here. Choose one of the documents offered."
    ),
    "country_not_supported": lazy_gettext(
        "Documents from this country are not accepted here. Use another document."
    ),
    "id_number_insufficient_document_data": lazy_gettext(
        "No id number could be read on the document. Use a document that shows your id number."
    ),
    "id_number_mismatch": lazy_gettext("The id number given is not the one on the document."),
    "selfie_face_not_found": lazy_gettext(
        "No face was found in the selfie: take it facing the camera."
    ),
    "selfie_document_missing_photo": lazy_gettext(
        "No portrait was found on the document to compare with."
    ),
    "selfie_face_mismatch": lazy_gettext(
        "The face in the selfie is not the portrait on the document."
    ),
    "selfie_manipulated": lazy_gettext(
        "The selfie was not taken with the live camera challenge. Take the selfie again."
    ),
    "selfie_unverified_other": lazy_gettext(
        "The selfie could not be checked. Take it again facing the camera, in good light and in "
        "focus."
    ),
    "processing_failed": lazy_gettext("The verification could not be completed; please try again."),
}
UNKNOWN_REASON = lazy_gettext("The verification did not succeed. Please try again.")


def english_page() -> bool:
    return str(get_locale() or "en") == "en"


def _english(original: str | None) -> str | None:
    """On an English page, the domain's own words: they name figures (pixels, the minimum age,
    the failed check) that the catalog's general messages for other languages leave out."""
    return original if original and english_page() else None


def capture_message(
    code: str | None, original: str | None, document_type: str | None, step: str
) -> str:
    """A refused photo's or selfie's reason, in the page's language."""
    if (english := _english(original)) is not None:
        return english
    if code == "wrong_side" and (document_type or "", step) in WRONG_SIDE:
        return str(WRONG_SIDE[(document_type or "", step)])
    message = CAPTURE_MESSAGES.get(code or "") or LIVENESS_MESSAGES.get(code or "")
    return str(message or UNKNOWN_REASON)


def verdict_message(code: str | None, original: str | None, min_age: int) -> str:
    """A failed verification's reason, in the page's language."""
    if (english := _english(original)) is not None:
        return english
    if code == "under_supported_age":
        return str(lazy_gettext("The holder is younger than %(age)s.", age=min_age))
    return str(VERDICT_MESSAGES.get(code or "", UNKNOWN_REASON))
