"""Model downloads on loopback: photogen's checked download against huggingface_hub's snapshot_download.

Both fetch the same files from the fake hub (tests/generate/fake_hub.py) on 127.0.0.1, so the network
is not what is measured: what photogen adds is hashing every file against the hub's sha256 before the
download counts, and the partial-folder bookkeeping. Also measured: a resume after a cut halfway
through the large file (the bytes fetched again).

    python bench/download_bench.py [--mb 512] [--reps 2]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from photogen.errors import PhotogenError  # noqa: E402
from tests.generate.fake_hub import FakeHub, FakeRepo, serve  # noqa: E402

log = logging.getLogger("download_bench")
REPO = "bench/model"


def _repo(mb: int) -> FakeRepo:
    big = os.urandom(mb * 1024 * 1024)
    return FakeRepo({"model_index.json": b"{}", "unet/config.json": b"{}", "unet/diffusion_pytorch_model.safetensors": big})


def _ours(url: str, root: Path) -> float:
    from photogen.generate.download import fetch_snapshot

    t0 = time.perf_counter()
    fetch_snapshot(REPO, "main", root, None, endpoint=url)
    return time.perf_counter() - t0


def _hub(url: str, root: Path) -> float:
    from huggingface_hub import snapshot_download

    t0 = time.perf_counter()
    snapshot_download(REPO, revision="main", cache_dir=root, endpoint=url)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=512, help="size of the large file")
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    repo = _repo(args.mb)
    total_mb = sum(len(d) for d in repo.files.values()) / 1e6
    with serve(FakeHub({REPO: repo})) as hub, tempfile.TemporaryDirectory() as tmp:
        times: dict[str, list[float]] = {"photogen (checked)": [], "snapshot_download": []}
        for rep in range(args.reps):
            times["photogen (checked)"].append(_ours(hub.url, Path(tmp) / f"ours-{rep}"))
            times["snapshot_download"].append(_hub(hub.url, Path(tmp) / f"hub-{rep}"))
        big = "unet/diffusion_pytorch_model.safetensors"
        hub.cut_after[big] = len(repo.files[big]) // 2
        root = Path(tmp) / "resume"
        try:
            _ours(hub.url, root)
        except PhotogenError as e:  # the cut: the connection was lost
            log.info("cut as planned: %s", e)
        hub.cut_after.clear()
        hub.log.clear()
        resume_s = _ours(hub.url, root)
        refetched = sum(e.body_bytes for e in hub.log if e.method == "GET")
    print(f"{total_mb:.0f} MB on loopback, median of {args.reps}")  # noqa: T201 - a benchmark prints figures
    ours, theirs = (statistics.median(v) for v in times.values())
    for name, value in zip(times, (ours, theirs), strict=True):
        print(f"  {name:<20} {value:6.2f} s  {total_mb / value:7.0f} MB/s")  # noqa: T201
    print(f"  ratio photogen / snapshot_download: {ours / theirs:.2f}")  # noqa: T201
    print(f"  resume after a cut at 50%: {resume_s:.2f} s, {refetched / 1e6:.0f} MB fetched again "  # noqa: T201
          f"({refetched / len(repo.files[big]):.0%} of the large file)")  # fmt: skip


if __name__ == "__main__":
    main()
