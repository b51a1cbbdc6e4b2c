"""Measure the recapture and edit signals where they count: in `verify`'s verdict, live mode.

The figures in docs/authenticity.md, section "In the verdict":

    .venv/bin/python scripts/measure_recapture_verdicts.py [--shared ../shared]

- the real specimen photos and scans, each verified alone without claims: which of the four
  signals fire, which refuse (none of these images is a screen or an edit);
- genuine stand-ins (the generator without its code and SPECIMEN print, a real face, Utopia
  holders left out), clean and photographed, both sides, claiming their printed details;
- the attacks of processing.samples.attacks made from other stand-ins' fronts (passports and TD2
  cards, valid ones only, so that every refusal is the attack's), claiming the printed details.
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from processing.model_files import YUNET_FILE
from processing.samples import KINDS, Kind, SampleDocument, attacks, make_document, photograph
from processing.samples.portrait import face_files, load_face
from processing.verify import ProvidedDetails, Verdict, VerifyOptions, verify

Picture = NDArray[np.uint8]
TODAY = date(2026, 11, 25)
SIGNALS = ("screen_recapture", "photocopy", "editing_software", "compression_inconsistency")
EDITOR = "Adobe Photoshop 25.0 (Windows)"


def _claims(document: SampleDocument) -> ProvidedDetails:
    holder = document.truth_front["holder"]
    return ProvidedDetails(
        holder["given_names"].split()[0],
        holder["surname"],
        date.fromisoformat(holder["birth_date"]),
    )


def _from_utopia(document: SampleDocument) -> bool:
    holder = document.truth_front["holder"]
    return "UTO" in (holder["nationality"], holder["issuing_country"])


class Tally:
    """Per set: verdicts, and per signal how often it was judged, fired and refused."""

    def __init__(self) -> None:
        self.outcomes: Counter[str] = Counter()
        self.judged: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.highest: dict[str, tuple[float, str]] = {}
        self.refused_by: Counter[str] = Counter()  # the first counting signal, else the reason

    def add(self, verdict: Verdict, label: str) -> None:
        error = verdict.last_error
        self.outcomes[error.code if error else "verified"] += 1
        if error is not None and error.code == "document_unverified_other":
            counted = [s for s in verdict.report.document.authenticity if s.fired and not s.waived]
            self.refused_by[counted[0].name if counted else error.reason[:50]] += 1
        for signal in verdict.report.document.authenticity:
            if signal.name not in SIGNALS:
                continue
            self.judged[signal.name] += 1
            self.fired[signal.name] += signal.fired
            self.refused[signal.name] += signal.fired and not signal.waived
            if signal.score > self.highest.get(signal.name, (-1.0, ""))[0]:
                self.highest[signal.name] = (signal.score, label)

    def report(self, title: str) -> None:
        print(f"\n## {title}: {dict(self.outcomes)}")
        print(f"document_unverified_other by: {dict(self.refused_by)}")
        for name in SIGNALS:
            score, label = self.highest.get(name, (0.0, "-"))
            print(
                f"{name:28s} judged {self.judged[name]:3d}  fired {self.fired[name]:3d}  "
                f"refused {self.refused[name]:3d}  highest {score:g} ({label})"
            )


def _verify(front: bytes, back: bytes | None, claims: ProvidedDetails, yunet: Path) -> Verdict:
    return verify(front, back, None, VerifyOptions(), claims, today=TODAY, detector_model=yunet)


def _specimens(shared: Path, yunet: Path) -> None:
    tally = Tally()
    folder = shared / "samples/specimens"
    for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png")):
        tally.add(_verify(path.read_bytes(), None, ProvidedDetails(), yunet), path.name)
    tally.report("real specimens, alone, no claims")


def _stand_ins(faces: list[Path], yunet: Path) -> None:
    tallies = {"clean": Tally(), "photographed": Tally()}
    for index, seed in enumerate(range(100, 124)):
        kind: Kind = KINDS[index % len(KINDS)]
        face = load_face(faces[index % len(faces)])
        document = make_document(kind, seed, face=face, today=TODAY, unmarked_for_tests=True)
        if _from_utopia(document):
            continue
        for variant, tally in tallies.items():
            sides = [
                (document.front, document.machine_box_front),
                (document.back, document.machine_box_back),
            ]
            photos: list[bytes | None] = []
            for number, (side, box) in enumerate(sides):
                if side is None:
                    photos.append(None)
                    continue
                if variant == "photographed":
                    rng = np.random.default_rng(seed * 10 + number)
                    side = photograph(side, rng, machine_box=box)[0]
                photos.append(attacks.jpeg(side, 92))
            front, back = photos
            assert front is not None
            tally.add(_verify(front, back, _claims(document), yunet), f"{kind}-{seed}")
    for variant, tally in tallies.items():
        tally.report(f"genuine stand-ins, {variant}")


def _pasted_face(photo: bytes, face: Picture, rng: np.random.Generator) -> bytes:
    height, width = attacks.decode(photo).shape[:2]
    patch_width = width // 6
    patch = cv2.resize(face, (patch_width, patch_width * 13 // 10), interpolation=cv2.INTER_AREA)
    at = (int(width * 0.4) + int(rng.integers(1, 8)), int(height * 0.4) + int(rng.integers(1, 8)))
    quality = int(rng.integers(50, 90))
    return attacks.paste_jpeg_region(
        photo, patch, at, patch_quality=quality, final_quality=int(rng.integers(85, 96))
    )


def _pasted_text(photo: bytes, rng: np.random.Generator) -> bytes:
    height, width = attacks.decode(photo).shape[:2]
    box = (int(width * 0.3) + 3, int(height * 0.45) + 5, width // 3, height // 25)
    final = int(rng.integers(85, 96))
    return attacks.paste_text_block(
        photo, "MUSTERMANN ERIKA", box, final_quality=final, source_quality=70
    )


def _attacks(faces: list[Path], yunet: Path, count: int) -> None:
    rng = np.random.default_rng(21)
    tallies: dict[str, Tally] = {}
    made = 0
    for index, seed in enumerate(range(200, 300)):
        if made == count:
            break
        kind: Kind = ("td3", "td2")[index % 2]
        face = load_face(faces[index % len(faces)])
        document = make_document(kind, seed, face=face, today=TODAY, unmarked_for_tests=True)
        expiry = date.fromisoformat(document.truth_front["holder"]["expiry_date"])
        if _from_utopia(document) or expiry <= TODAY:
            continue
        made += 1
        front = document.front
        shot = attacks.jpeg(photograph(front, np.random.default_rng(seed))[0], 90)
        other = load_face(faces[(index + 5) % len(faces)]).convert("RGB")
        other_face = np.ascontiguousarray(np.asarray(other)[..., ::-1])
        pasted = _pasted_face(shot, other_face, rng)
        forged = {
            "genuine, photographed (no attack)": shot,
            "an editor's save alone (no attack)": attacks.with_software(shot, EDITOR),
            "face pasted, no metadata": pasted,
            "face pasted, saved by an editor": attacks.with_software(pasted, EDITOR),
            "text pasted, saved by an editor": attacks.with_software(
                _pasted_text(shot, rng), EDITOR
            ),
        }
        for ratio in (1.3, 1.8, 2.5):
            angle, bands = float(rng.uniform(-4, 4)), float(rng.uniform(0, 0.1))
            screen = attacks.screen_photo(
                front, rng, camera_px_per_screen_px=ratio, angle_deg=angle, bands=bands
            )
            label = f"on a screen, {ratio} camera px per screen px"
            forged[label] = attacks.jpeg(screen, int(rng.integers(85, 96)))
        for halftone in (True, False):
            copy = attacks.photocopy(front, rng, halftone=halftone)
            grain = "halftone" if halftone else "toner grain"
            forged[f"black-and-white copy ({grain}), scanned"] = attacks.jpeg(copy, 92)
            copy_shot = attacks.jpeg(photograph(copy, rng)[0], 90)
            forged[f"black-and-white copy ({grain}), photographed"] = copy_shot
        for label, photo in forged.items():
            verdict = _verify(photo, None, _claims(document), yunet)
            tallies.setdefault(label, Tally()).add(verdict, f"{kind}-{seed}")
    for label, tally in tallies.items():
        tally.report(f"{label} ({made} stand-ins)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
    )
    parser.add_argument("--attacks", type=int, default=10, help="stand-ins to forge")
    parser.add_argument(
        "--sets", nargs="+", choices=("specimens", "stand-ins", "attacks"), default=None
    )
    args = parser.parse_args()
    sets = args.sets or ("specimens", "stand-ins", "attacks")
    yunet = args.shared / "models" / YUNET_FILE
    faces = face_files(args.shared / "samples/faces")
    if "specimens" in sets:
        _specimens(args.shared, yunet)
    if "stand-ins" in sets:
        _stand_ins(faces, yunet)
    if "attacks" in sets:
        _attacks(faces, yunet, args.attacks)


if __name__ == "__main__":
    main()
