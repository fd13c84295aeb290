"""Indexing throughput and peak memory on 1,000 generated photos (metadata and thumbnails).

Each configuration runs in its own subprocess so peak RSS is its own. Prints photos/second,
peak memory, and the ratio of the default (threaded) indexer against a single-threaded baseline.

    python bench/index_bench.py [--photos 1000] [--size 1600x1200]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_corpus(folder: Path, count: int, size: tuple[int, int]) -> None:
    import numpy as np
    from PIL import Image

    from tests.conftest import write_photo

    rng = random.Random(0)
    base = (np.random.default_rng(0).random((size[1] // 8, size[0] // 8, 3)) * 255).astype("uint8")
    texture = Image.fromarray(base).resize(size)  # photo-like content so JPEG decode does real work
    cities = [(48.8566, 2.3522), (41.9028, 12.4964), (40.7128, -74.006), (35.6762, 139.6503), None]
    for i in range(count):
        album = folder / f"Album {i % 10}"
        path = write_photo(
            album / f"IMG_{i:05}.jpg",
            size=(64, 48),
            taken=f"20{10 + i % 14}:{1 + i % 12:02}:{1 + i % 28:02} 12:00:00",
            make="Canon",
            model="EOS R5",
            gps=rng.choice(cities),
            seed=i,
        )
        # re-save with the big texture, keeping the EXIF written above
        with Image.open(path) as small:
            exif = small.info.get("exif", b"")
        img = texture.copy()
        img.putpixel((i % size[0], 0), (i % 256, 0, 0))
        img.save(path, "JPEG", quality=88, exif=exif)


def run_one(corpus: Path, threads: int) -> dict:
    from photogen.library.consent import add_folder_source
    from photogen.library.indexer import index_library
    from photogen.library.library import open_library
    from photogen.settings import Settings

    with tempfile.TemporaryDirectory() as home:
        settings = Settings(home=Path(home), passphrase="bench", use_keyring=False, index_threads=threads)
        with open_library(settings) as lib:
            add_folder_source(lib, corpus, ["all"])
            start = time.perf_counter()
            report = index_library(lib)
            seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "threads": threads,
        "photos": report.added,
        "seconds": seconds,
        "photos_per_s": report.added / seconds,
        "peak_rss_mib": peak_mib,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photos", type=int, default=1000)
    parser.add_argument("--size", default="1600x1200")
    parser.add_argument("--child", nargs=2, metavar=("CORPUS", "THREADS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(Path(args.child[0]), int(args.child[1]))))
        return
    width, height = (int(v) for v in args.size.split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        t0 = time.perf_counter()
        make_corpus(corpus, args.photos, (width, height))
        print(f"corpus: {args.photos} JPEGs at {width}x{height} with EXIF, made in {time.perf_counter() - t0:.1f}s")
        results = {}
        from photogen.settings import Settings

        default_threads = Settings(passphrase="x").index_threads
        for threads in (1, default_threads):
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(corpus), str(threads)],
                check=True,
                capture_output=True,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            results[threads] = r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"threads={threads}: {r['photos']} photos in {r['seconds']:.2f}s = {r['photos_per_s']:.1f} photos/s, peak RSS {r['peak_rss_mib']:.0f} MiB"
            )
        base, ours = results[1], results[default_threads]
        print(f"ratio (threads={default_threads} vs 1): {ours['photos_per_s'] / base['photos_per_s']:.2f}x photos/s")


if __name__ == "__main__":
    main()
