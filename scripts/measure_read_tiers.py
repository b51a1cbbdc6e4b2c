"""How `read_document`'s exact reads fall as a photographed document gets harder, by tier.

Generated documents with a machine-readable zone (TD3, TD1, TD2) are photographed at four
strengths of `processing.samples.photograph` (tilt and perspective, small rotation, blur, noise
and uneven light all scale with it; glare falls on a third of them, never over the MRZ) and read
as `idflow bench` reads them; per tier it prints the sides read, the exact reads (every MRZ field
as printed), the misreads (check digits hold, a field wrong) and the median and p95 seconds.

    .venv/bin/python scripts/measure_read_tiers.py [--count 24] [--seed 7]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.read import collect_images, run_reader, summarise
from processing.samples import generate_samples

TIERS = {"mild": 0.25, "moderate": 0.5, "strong": 0.75, "hardest": 1.0}
KINDS_WITH_MRZ = ("td3", "td1", "td2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24, help="documents per tier")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print("tier       strength  sides  exact  misread  median s  p95 s")
    with tempfile.TemporaryDirectory() as folder:
        for name, strength in TIERS.items():
            tier = Path(folder) / name
            generate_samples(
                tier,
                count=args.count,
                seed=args.seed,
                kinds=KINDS_WITH_MRZ,
                variant="photographed",
                strength=strength,
            )
            images = collect_images(tier)
            summary = summarise(run_reader("idflow", [i.path for i in images]), images)
            print(
                f"{name:<10} {strength:>8.2f}  {summary.documents:>5}  "
                f"{summary.read_rate:>5.1%}  {summary.misread_rate:>7.1%}  "
                f"{summary.median_seconds:>8.3f}  {summary.p95_seconds:>5.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
