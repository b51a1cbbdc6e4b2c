"""Would `read_document` lose an exact read if it stopped at the MRZ templates whenever their check
digits hold (as the photo check does), instead of always voting with Tesseract too?

For every image of the given folders (generated sets with ground truth: every MRZ field compared;
the shared specimens: against `expected.json` where it gives the MRZ, else both readings compared
with each other), it reads the photo both ways, interleaved, and prints per folder: exact reads
each way, images whose reading differs, and the median and p95 seconds each way.

    .venv/bin/python scripts/measure_mrz_early_stop.py out/bench-samples/photographed \
        ../shared/samples/specimens
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from functools import partial
from pathlib import Path

from bench.read import collect_images
from processing import pipeline
from processing.mrz.model import MRZ_FIELDS

THOROUGH = pipeline.find_mrz


def _read(path: Path, early_stop: bool) -> tuple[dict[str, str | None] | None, str, float]:
    pipeline.find_mrz = partial(THOROUGH, thorough=False) if early_stop else THOROUGH
    start = time.perf_counter()
    result = pipeline.read_document_files(path)
    taken = time.perf_counter() - start
    if result.mrz is None:
        return None, "", taken
    fields = {name: getattr(result.mrz, name) for name in MRZ_FIELDS}
    return fields, "\n".join(result.mrz.lines), taken


def _expected(folder: Path) -> dict[str, str]:
    found = folder / "expected.json"
    if not found.exists():
        return {}
    return {name: item["mrz"] for name, item in json.loads(found.read_text()).items()}


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def measure(folder: Path) -> None:
    expected = _expected(folder)
    if expected or not any(folder.glob("*.json")):
        paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".png"))
        images = [(p, None) for p in paths if "traineddata" not in p.parts]
    else:
        images = [(image.path, image.truth) for image in collect_images(folder)]
    exact = {False: 0, True: 0}
    seconds: dict[bool, list[float]] = {False: [], True: []}
    differ = []
    for path, truth in images:
        readings = {}
        for early_stop in (False, True):
            fields, text, taken = _read(path, early_stop)
            readings[early_stop] = (fields, text)
            seconds[early_stop].append(taken)
            name = str(path.relative_to(folder))
            if truth is not None:
                exact[early_stop] += fields == truth
            elif name in expected:
                exact[early_stop] += text == expected[name]
        if readings[False] != readings[True]:
            differ.append(str(path.relative_to(folder)))
    judged = sum(1 for path, truth in images if truth is not None) or len(expected)
    print(f"{folder}: {len(images)} images, {judged} with ground truth")
    for early_stop in (False, True):
        label = "early stop" if early_stop else "thorough  "
        times = seconds[early_stop]
        print(
            f"  {label}: exact {exact[early_stop]}/{judged}, "
            f"median {statistics.median(times):.3f} s, p95 {_p95(times):.3f} s"
        )
    print(f"  readings that differ: {len(differ)} {differ[:10]}")


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        measure(Path(argument))
