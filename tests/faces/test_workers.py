from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from photogen.errors import PhotogenError
from photogen.faces.workers import MAX_WORKERS, FaceWorkers, worker_layout


class SlowAnalyzer:
    """Takes longer on even inputs, so finishing order differs from input order; records concurrency."""

    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.busy = threading.Lock()

    def analyze(self, image: np.ndarray) -> list:
        assert self.busy.acquire(blocking=False), "an analyzer was used by two threads at once"
        try:
            value = int(image[0, 0, 0])
            time.sleep(0.02 if value % 2 == 0 else 0.001)
            self.log.append(threading.current_thread().name)
            return [value]
        finally:
            self.busy.release()

    def analyze_many(self, images: list[np.ndarray]) -> list[list]:
        self.log.append(f"run of {len(images)}")
        return [self.analyze(image) for image in images]


@pytest.mark.parametrize("photos_per_run", [1, 2, 4])
def test_results_come_in_input_order_and_errors_are_reported(photos_per_run: int) -> None:
    log: list[str] = []
    workers = FaceWorkers([SlowAnalyzer(log), SlowAnalyzer(log)], photos_per_run=photos_per_run)  # type: ignore[list-item]

    def load(n: int) -> tuple[np.ndarray, int]:
        if n == 3:
            raise PhotogenError("photo 3 is revoked")
        if n == 4:
            raise OSError("disk gone")
        return np.full((4, 4, 3), n, dtype=np.uint8), n * 10

    results = list(workers.run(range(9), load))
    assert [r.item for r in results] == list(range(9))
    assert [r.faces for r in results if r.error is None] == [[n] for n in range(9) if n not in (3, 4)]
    assert results[3].error == "photo 3 is revoked" and "disk gone" in (results[4].error or "")
    assert results[5].extra == 50 and results[5].image is not None
    threads = {entry for entry in log if not entry.startswith("run of")}
    assert len(threads) == 2  # both workers took part
    # photos go to an analyzer `photos_per_run` at a time, less the ones that failed to load
    runs = [int(entry.split()[-1]) for entry in log if entry.startswith("run of")]
    chunks = [range(start, min(start + photos_per_run, 9)) for start in range(0, 9, photos_per_run)]
    expected = [sum(n not in (3, 4) for n in chunk) for chunk in chunks]
    assert sorted(runs) == sorted(n for n in expected if n)


@pytest.mark.parametrize(
    "asked, cpus, expected",
    [
        ((0, 0), 2, (2, 1)),
        ((0, 0), 16, (MAX_WORKERS, 4)),
        ((1, 0), 8, (1, 8)),
        ((3, 2), 8, (3, 2)),
        ((0, 0), 1, (1, 1)),
    ],
)
def test_worker_layout_shares_the_cores(asked: tuple[int, int], cpus: int, expected: tuple[int, int]) -> None:
    assert worker_layout(*asked, cpus=cpus) == expected


def test_an_empty_pool_is_refused() -> None:
    with pytest.raises(ValueError):
        FaceWorkers([])
    with pytest.raises(ValueError):
        FaceWorkers([SlowAnalyzer([])], photos_per_run=0)  # type: ignore[list-item]
