"""Measure the specimen signal where it counts: in `verify`'s verdict, live mode, on real specimens.

The figures in docs/authenticity.md, section "specimen":

    .venv/bin/python scripts/measure_specimen_verdicts.py [--shared ../shared]

Each of the government specimen photos and scans in `../shared/samples/specimens` is verified in
live mode claiming the details it prints, as a fraudster presenting it would: the first given
name, surname, date of birth and document number of its reading (the machine-readable zone when
one was read, else the barcode or the printed text). Every image in the set is one upload (a
front, or both sides scanned on one page); the set has no separate backs. The table gives each
verdict's status and error code, the authenticity signals that fired and count, and the specimen
signal's rules (`specimen.findings`: every rule that found something, the first one counts);
the counts follow.

Then the genuine stand-ins (the generator without its code and SPECIMEN print, a real face,
Utopia holders left out: seeds 100-123, kinds in turn), clean and photographed, both sides,
claiming their printed details: how often the specimen signal fires on them (it must not) and
their verdicts.

`verify` is `read_document` followed by `evaluate` on the same reading; the script makes the two
calls itself so that one reading serves both the claims and the verdict.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

from processing.authenticity import Evidence, specimen
from processing.model_files import YUNET_FILE
from processing.pipeline import read_document
from processing.result import DocumentResult
from processing.samples import KINDS, Kind, attacks, make_document, photograph
from processing.samples.portrait import face_files, load_face
from processing.verify import (
    ProvidedDetails,
    Verdict,
    VerifyOptions,
    document_data,
    evaluate,
    verify,
)

TODAY = date(2026, 11, 25)


def claims(result: DocumentResult) -> ProvidedDetails:
    """What the document prints, as a person presenting it would claim it."""
    data = document_data(result)
    surname, given, dob, number = data.surname, data.given_names, data.dob, data.number
    if data.source == "none" and result.mrz is not None:  # read, but a check digit fails
        mrz = result.mrz
        surname, given, dob, number = mrz.surname, mrz.given_names, mrz.birth_date, None
    first = given.split()[0] if given else None
    born = None
    if dob:
        try:
            born = date.fromisoformat(dob)
        except ValueError:
            born = None
    return ProvidedDetails(first, surname or None, born, number or None)


def judge(path: Path, yunet: Path) -> tuple[Verdict, ProvidedDetails, list[str], float]:
    """`verify` on one specimen, claiming what it prints; also every specimen rule that found
    something on it."""
    photo = path.read_bytes()
    start = time.perf_counter()
    result = read_document(photo, today=TODAY, detector_model=yunet, read_visual=True)
    provided = claims(result)
    evidence = Evidence(result, photo, None, TODAY, yunet)
    verdict = evaluate(
        result,
        None,
        VerifyOptions(),
        provided,
        today=TODAY,
        detector_model=yunet,
        evidence=evidence,
    )
    rules = [rule for rule, _ in specimen.findings(evidence)]
    return verdict, provided, rules, time.perf_counter() - start


def _specimens(shared: Path, yunet: Path) -> None:
    folder = shared / "samples" / "specimens"
    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
    codes: Counter[str] = Counter()
    refused_by: Counter[str] = Counter()
    first_rule: Counter[str] = Counter()
    any_rule: Counter[str] = Counter()
    print("| image | claimed | status | code | refused by | specimen rules | reason | s |")
    print("|---|---|---|---|---|---|---|---|")
    for path in paths:
        verdict, provided, rules, seconds = judge(path, yunet)
        error = verdict.last_error
        code = error.code if error else "-"
        codes[code] += 1
        signals = verdict.report.document.authenticity
        counting = [s.name for s in signals if s.fired and not s.waived]
        refused = counting[0] if counting else ("-" if error is None else "(not a signal)")
        refused_by[refused] += 1
        if rules:
            first_rule[rules[0]] += 1
        any_rule.update(rules)
        claimed = " ".join(
            str(v)
            for v in (provided.first_name, provided.last_name, provided.dob, provided.id_number)
            if v
        )
        reason = error.reason[:70] if error else "-"
        print(
            f"| {path.relative_to(folder)} | {claimed or '-'} | {verdict.status} | {code} | "
            f"{refused} | {', '.join(rules) or '-'} | {reason} | {seconds:.1f} |"
        )
    print(f"\nspecimen signal fired: {sum(first_rule.values())} of {len(paths)}")
    print(f"  by the rule that counts: {dict(first_rule)}")
    print(f"  rules that found something (an image can have several): {dict(any_rule)}")
    print(f"verdict codes: {dict(codes)}")
    print(
        f"refused by (first counting signal; '(not a signal)': unreadable, expired...): "
        f"{dict(refused_by)}"
    )


def _stand_ins(shared: Path, yunet: Path) -> None:
    faces = face_files(shared / "samples" / "faces")
    fired: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    judged = 0
    for index, seed in enumerate(range(100, 124)):
        kind: Kind = KINDS[index % len(KINDS)]
        face = load_face(faces[index % len(faces)])
        document = make_document(kind, seed, face=face, today=TODAY, unmarked_for_tests=True)
        holder = document.truth_front["holder"]
        if "UTO" in (holder["nationality"], holder["issuing_country"]):
            continue
        provided = ProvidedDetails(
            holder["given_names"].split()[0],
            holder["surname"],
            date.fromisoformat(holder["birth_date"]),
        )
        for variant in ("clean", "photographed"):
            photos: list[bytes | None] = []
            sides = [
                (document.front, document.machine_box_front),
                (document.back, document.machine_box_back),
            ]
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
            verdict = verify(
                front, back, None, VerifyOptions(), provided, today=TODAY, detector_model=yunet
            )
            judged += 1
            error = verdict.last_error
            outcomes[f"{variant}: {error.code if error else 'verified'}"] += 1
            for signal in verdict.report.document.authenticity:
                if signal.name == "specimen" and signal.fired:
                    fired[f"{kind}-{seed} {variant}: {signal.reason}"] += 1
    print(f"\n## genuine stand-ins: {judged} judged, specimen fired on {sum(fired.values())}")
    for label in fired:
        print(f"  {label}")
    print(f"verdicts: {dict(outcomes)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared"
    )
    parser.add_argument("--sets", nargs="+", choices=("specimens", "stand-ins"), default=None)
    args = parser.parse_args()
    sets = args.sets or ("specimens", "stand-ins")
    yunet = args.shared / "models" / YUNET_FILE
    if "specimens" in sets:
        _specimens(args.shared, yunet)
    if "stand-ins" in sets:
        _stand_ins(args.shared, yunet)


if __name__ == "__main__":
    main()
