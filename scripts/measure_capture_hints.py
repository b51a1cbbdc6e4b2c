"""Measure the capture page's live hints on real material, in Debian's Chromium with its fake
camera: the figures behind DARK, CONTRAST, FILLS, STILL, SHARP and READY_TICKS in static/flow.js
(docs/quality-thresholds.md, section "Live capture hints").

    PYTHONPATH=$PWD .venv/bin/python scripts/measure_capture_hints.py \
        [--shared ../shared] [--out /tmp/capture-hints.jsonl] [--seconds 3]

The hints are worked out by the page's own script: each condition is a y4m video played as the
camera of a real `idflow serve` capture page, and every sample the page takes is read from the
`data-seen` attribute it publishes, with the hint it showed. The auto shot's upload is caught and
refused here, so the page keeps sampling. Videos: every real specimen photo or scan of
../shared/samples/specimens laid on a dark table (tests/support/real_scenes.py) steady, dark,
far, swaying and out of focus, and a sweep of each on a few of them; the real clips of people of
../shared/samples/video as they are (the selfie step shows no hints: they run on the document
step, for what a real camera's grain and a person's small movements give).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, phone_page
from tests.support.real_scenes import Condition, scene_frames, write_grey_y4m
from tests.support.served import Server, api, idflow, served_app

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright, Route

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
# What every specimen is filmed under, and the sweeps run on every SWEEP_EVERY-th specimen.
CORE = (
    Condition("steady"),
    Condition("dark", light=0.35),
    Condition("far", size=0.55),
    Condition("sway", sway=12),
    Condition("blur", blur=8),
)
SWEEP = (
    Condition("light-0.7", light=0.7),
    Condition("light-0.5", light=0.5),
    Condition("light-0.25", light=0.25),
    Condition("size-1.05", size=1.05),
    Condition("size-0.9", size=0.9),
    Condition("size-0.8", size=0.8),
    Condition("size-0.7", size=0.7),
    Condition("sway-3", sway=3),
    Condition("sway-6", sway=6),
    Condition("sway-24", sway=24),
    Condition("blur-2", blur=2),
    Condition("blur-4", blur=4),
    Condition("noise-5", noise=5),
)
SWEEP_EVERY = 5
# The page's samples, each with the hint it showed, collected as the page publishes them.
COLLECT = """
window.__seen = [];
new MutationObserver(function (records) {
  records.forEach(function (record) {
    var hint = document.querySelector("[data-hint]");
    window.__seen.push({ seen: JSON.parse(record.target.getAttribute("data-seen")),
                         hint: hint ? hint.textContent : "", at: performance.now() });
  });
}).observe(document, { attributes: true, subtree: true, attributeFilter: ["data-seen"] });
"""


@dataclass
class Run:
    """One video on one capture page: every sample, the hint keys shown, when the shot fired."""

    material: str
    condition: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    fired_after: float | None = None

    def summary(self) -> dict[str, Any]:
        hints = [s["hint"] for s in self.samples]
        metrics = {}
        for name in ("light", "contrast", "fill", "change", "sharp"):
            values = [s["seen"][name] for s in self.samples if s["seen"][name] is not None]
            metrics[name] = round(statistics.median(values), 2) if values else None
        return {
            "material": self.material,
            "condition": self.condition,
            "samples": len(self.samples),
            "hints": {key: hints.count(key) for key in sorted(set(hints))},
            "fired_after_s": self.fired_after,
            "median": metrics,
        }


class Bench:
    """A served app and one platform; a browser per video file."""

    def __init__(self, server: Server, playwright: Playwright, seconds: float) -> None:
        created = json.loads(idflow(server.env, "platform", "create", "Hints", "--json"))
        self.server, self.key, self.playwright, self.seconds = (
            server,
            created["secret_key"],
            playwright,
            seconds,
        )

    @contextmanager
    def browser(self, video: Path) -> Iterator[Browser]:
        browser = self.playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                *CHROMIUM_ARGS,
                "--use-fake-ui-for-media-stream",
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-video-capture={video}",
            ],
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()

    def _session(self, document_type: str) -> str:
        options = {"allowed_types": [document_type], "require_matching_selfie": False}
        created = api(
            self.server,
            self.key,
            "POST",
            "/v1/verification_sessions",
            {"type": "document", "options": {"document": options}},
        )
        return str(created["url"])

    def measure(self, browser: Browser, run: Run, document_type: str) -> Run:
        """Open the document's capture page, start the camera, keep its samples for the
        configured time; the auto shot's upload is refused so the page keeps sampling."""
        problems: list[str] = []
        page: Page = phone_page(browser, problems)
        started = [0.0]
        try:
            page.add_init_script(COLLECT)

            def refuse(route: Route) -> None:
                if route.request.method != "POST" or "/consent" in route.request.url:
                    route.continue_()
                    return
                if run.fired_after is None:
                    run.fired_after = round(time.monotonic() - started[0], 2)
                route.abort()

            page.route("**/*", refuse)
            page.goto(self._session(document_type))
            page.locator("input[name=accept]").click()
            page.wait_for_url("**/front")
            page.locator("[data-camera-start]").click()
            started[0] = time.monotonic()
            # A loaded machine may take seconds to start the video: time from the first sample.
            page.wait_for_function("() => window.__seen.length > 0", timeout=30_000)
            page.wait_for_timeout(self.seconds * 1000)
            keys = {text: key for key, text in page.evaluate(TEXT_PAIRS).items()}
            for sample in page.evaluate("window.__seen"):
                sample["hint"] = keys.get(sample["hint"], sample["hint"])
                run.samples.append(sample)
        finally:
            page.context.close()
        return run


# The page's hint sentences, to turn the shown text back into its key.
TEXT_PAIRS = """(() => { const text = JSON.parse(document.body.getAttribute("data-text"));
  const pairs = {}; for (const key of Object.keys(text)) { if (key.startsWith("hint_")) {
  pairs[key] = text[key]; } } return pairs; })()"""


def _specimens(shared: Path) -> list[Path]:
    folder = shared / "samples" / "specimens"
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)


def _document_type(path: Path) -> str:
    """Cards are filmed in the card guide, passports, visas and the rest in the passport's."""
    name = path.as_posix().lower()
    return "id_card" if "id_card" in name or "_id-" in name or "card" in name else "passport"


def measure_all(
    bench: Bench,
    shared: Path,
    work: Path,
    limit: int | None,
    out: Path,
    only: str,
    names: list[str] | None,
) -> list[Run]:
    """Every video in turn; each run is added to `out` (JSON lines) as it is done. With `names`,
    only those conditions, on every specimen."""
    runs: list[Run] = []

    def done(run: Run) -> None:
        runs.append(run)
        with out.open("a") as lines:
            lines.write(json.dumps(vars(run)) + "\n")
        print(json.dumps(run.summary()), flush=True)

    specimens = _specimens(shared)[:limit] if only != "clips" else []
    # The stills as y4m: Chromium's fake camera gives no frame from a one-frame mjpeg.
    folder = shared / "samples" / "video"
    clips = sorted(p for p in folder.glob("*.mjpeg") if not p.name.startswith("attack_still"))
    clips = [*clips, *sorted(folder.glob("attack_still_*.y4m"))][:limit]
    for clip in clips if only != "specimens" else []:
        with bench.browser(clip) as browser:  # Chromium needs the path whole
            done(bench.measure(browser, Run(clip.name, "clip"), "passport"))
    for index, path in enumerate(specimens):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        label = path.relative_to(shared / "samples" / "specimens").as_posix()
        kind = _document_type(path)
        conditions = CORE + (SWEEP if index % SWEEP_EVERY == 0 else ())
        if names:
            conditions = tuple(c for c in CORE + SWEEP if c.name in names)
        for condition in conditions:
            video = write_grey_y4m(work / "camera.y4m", scene_frames(image, kind, condition))
            with bench.browser(video) as browser:
                done(bench.measure(browser, Run(label, condition.name), kind))
    return runs


METRICS = ("light", "contrast", "fill", "change", "sharp")
# What each condition should bring: the auto shot, or the hint that stands.
EXPECTED = {
    "steady": "shot",
    "light-0.7": "shot",
    "light-0.5": "shot",
    "size-1.05": "shot",
    "noise-5": "shot",
    "dark": "hint_dark",
    "light-0.25": "hint_dark",
    "far": "hint_far",
    "size-0.7": "hint_far",
    "sway": "hint_still",
    "sway-6": "hint_still",
    "sway-24": "hint_still",
}


def _spread(values: list[float]) -> str:
    """min / 10th percentile / median / 90th percentile / max."""
    if not values:
        return "-"
    ordered = sorted(values)
    pick = [ordered[round(q * (len(ordered) - 1))] for q in (0.1, 0.9)]
    parts = (ordered[0], pick[0], statistics.median(ordered), pick[1], ordered[-1])
    return " / ".join(f"{v:.3g}" for v in parts)


def report(path: Path) -> None:
    """Markdown tables from a run's JSON lines: per condition, the spread of each metric over the
    runs (each run's median, its first sample left out: it has no previous frame), the share of
    samples per hint, the runs photographed by themselves, and the runs that missed their
    expected outcome."""
    runs = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    groups: dict[str, list[dict[str, Any]]] = {}
    for run in runs:  # each clip of a person is a row of its own
        key = run["material"] if run["condition"] == "clip" else run["condition"]
        groups.setdefault(key, []).append(run)
    print("| condition | runs | " + " | ".join(METRICS) + " | hints (share of samples) | shot |")
    print("|---|---|" + "---|" * len(METRICS) + "---|---|")
    missed: list[str] = []
    for condition, members in groups.items():
        cells = []
        for name in METRICS:
            medians = []
            for run in members:
                values = [s["seen"][name] for s in run["samples"][1:]]
                values = [v for v in values if v is not None]
                if values:
                    medians.append(statistics.median(values))
            cells.append(_spread(medians))
        hints = [s["hint"] for run in members for s in run["samples"][1:]]
        shares = ", ".join(
            f"{key.removeprefix('hint_')} {hints.count(key) / len(hints):.0%}"
            for key in sorted(set(hints))
        )
        shot = sum(run["fired_after"] is not None for run in members)
        print(f"| {condition} | {len(members)} | {' | '.join(cells)} | {shares} | {shot} |")
        expected = EXPECTED.get(condition)
        for run in members:
            last = [s["hint"] for s in run["samples"][1:]]
            if expected == "shot" and run["fired_after"] is None:
                missed.append(f"{condition} {run['material']}: no shot, hints {sorted(set(last))}")
            elif expected and expected != "shot" and run["fired_after"] is not None:
                missed.append(f"{condition} {run['material']}: shot taken")
            elif expected and expected != "shot" and last.count(expected) < len(last) / 2:
                missed.append(f"{condition} {run['material']}: hints {sorted(set(last))}")
    print("\nMissed:" if missed else "\nNo run missed its expected outcome.")
    for line in missed:
        print(f"- {line}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=Path("../shared"))
    parser.add_argument("--out", type=Path, default=Path("/tmp/capture-hints.jsonl"))
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--limit", type=int, help="only the first N specimens and clips")
    parser.add_argument("--only", choices=("all", "clips", "specimens"), default="all")
    parser.add_argument("--conditions", help="only these, comma-separated, on every specimen")
    parser.add_argument("--report", action="store_true", help="only print the tables of --out")
    args = parser.parse_args()
    names = args.conditions.split(",") if args.conditions else None
    if args.report:
        report(args.out)
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        with served_app(work, IDFLOW_JOB_WORKERS="0") as server, sync_playwright() as playwright:
            server.start()
            bench = Bench(server, playwright, args.seconds)
            args.out.write_text("")
            shared = args.shared.resolve()
            runs = measure_all(bench, shared, work, args.limit, args.out, args.only, names)
    print(f"{len(runs)} runs written to {args.out}")


if __name__ == "__main__":
    main()
