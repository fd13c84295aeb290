"""Where the likeness threshold comes from: same-person vs different-person cosines on real faces.

Every labelled portrait of the DEV set (../shared/faces/people/<person>/*.jpg; the person is the
largest face) is analysed with the default backend (YuNet + SFace). Each face is scored as a creation
is scored: against its own person's centroid built from their other photos, and against every other
person's centroid (`likeness.centroid_scores`). Prints both distributions, the derived threshold,
and false-match / false-non-match rates at a few thresholds.

    python bench/likeness_threshold.py [--faces ../shared/faces]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from photogen.faces.analyzer import FaceAnalyzer
from photogen.generate.identity.likeness import MATCH_THRESHOLD, centroid_scores, derive_threshold, match_rates

log = logging.getLogger("likeness_threshold")
DEFAULT_FACES = Path(__file__).resolve().parents[1].parent / "shared" / "faces"


def portraits(faces_dir: Path, analyzer: FaceAnalyzer) -> dict[str, list[tuple[np.ndarray, float]]]:
    """person -> (embedding, quality) of the largest face of each of their portraits."""
    out: dict[str, list[tuple[np.ndarray, float]]] = {}
    for folder in sorted(p for p in (faces_dir / "people").iterdir() if p.is_dir()):
        for path in sorted(folder.glob("*.jpg")):
            with Image.open(path) as img:
                rgb = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
            faces = analyzer.analyze(rgb)
            if not faces:
                log.warning("no face found in %s", path)
                continue
            face = max(faces, key=lambda f: f.box[2] * f.box[3])
            out.setdefault(folder.name, []).append((face.embedding, face.quality))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=DEFAULT_FACES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    data = portraits(args.faces, FaceAnalyzer())
    same, different = centroid_scores(data)
    log.info("%d people, %d photos", len(data), sum(len(v) for v in data.values()))
    log.info("same person  (n=%d): min %.3f  p1 %.3f  p5 %.3f  median %.3f  max %.3f", len(same), same.min(), *np.percentile(same, [1, 5, 50]), same.max())
    log.info("different    (n=%d): max %.3f  p99.9 %.3f  p99 %.3f  median %.3f", len(different), different.max(), *np.percentile(different, [99.9, 99, 50]))
    derived = derive_threshold(different)
    log.info("derived threshold %.2f (in the code: %.2f)", derived, MATCH_THRESHOLD)
    for t in sorted({0.30, 0.36, 0.40, 0.45, derived, 0.50, 0.55}):
        fmr, fnmr = match_rates(same, different, t)
        log.info("threshold %.2f: false matches %4d/%d (%.2f%%)  false non-matches %3d/%d (%.2f%%)", t, round(fmr * len(different)), len(different), 100 * fmr, round(fnmr * len(same)), len(same), 100 * fnmr)


if __name__ == "__main__":
    main()
