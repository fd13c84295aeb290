"""N simulated users drive the running app over loopback; prints throughput, p50/p95 latency, errors.

Each user opens a session, lists the library, then makes instant watercolor cards from a photo,
as fast as the app answers, until the time limit. Bounded in users and time.

    python bench/load_bench.py [--users 4] [--seconds 30] [--photos 8]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def prepare(home: Path, photos: int) -> None:
    from photogen.library.consent import add_folder_source
    from photogen.library.indexer import index_library
    from photogen.library.library import open_library
    from photogen.settings import Settings
    from tests.conftest import write_photo

    folder = home.parent / "Pictures"
    for i in range(photos):
        write_photo(folder / "Family" / f"{i}.jpg", size=(800, 600), seed=i)
    with open_library(Settings(home=home, passphrase="bench", use_keyring=False)) as lib:
        add_folder_source(lib, folder, ["all"])
        index_library(lib)


def user(url: str, deadline: float, photo_ids: list[int], latencies: list[float], errors: list[str], lock: threading.Lock) -> None:
    from gradio_client import Client

    client = Client(url, verbose=False)
    client.predict(api_name="/open")
    client.predict(api_name="/_on_load")  # the Create tab fills its choices, as on page load
    n = 0
    while time.monotonic() < deadline:
        pid = photo_ids[n % len(photo_ids)]
        n += 1
        for api, args in (("/_refresh", ()), ("/_generate", ("", [pid], [], "watercolor", "card:birthday", "instant", "fast", n, 1, None, "Hi", "", "keep", ["png"]))):
            start = time.perf_counter()
            try:
                client.predict(*args, api_name=api)
            except Exception as exc:  # noqa: BLE001 - a bench counts errors, it does not stop on them
                with lock:
                    errors.append(f"{api}: {type(exc).__name__}: {str(exc)[:100]}")
                continue
            with lock:
                latencies.append(time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--photos", type=int, default=8)
    args = parser.parse_args()
    users = max(1, min(args.users, 32))
    seconds = max(5.0, min(args.seconds, 300.0))

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"  # gradio_client (the simulated users) would report usage
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        os.environ["GRADIO_TEMP_DIR"] = str(Path(tmp) / "gradio")
        prepare(home, args.photos)
        from photogen.library.library import open_library
        from photogen.settings import Settings
        from photogen.ui.app import build_app
        from photogen.ui.session import SessionFactory

        settings = Settings(home=home, passphrase="bench", use_keyring=False)
        lib = open_library(settings)
        photo_ids = [r[0] for r in lib.catalog.query("SELECT id FROM photos ORDER BY id")]
        demo = build_app(SessionFactory(settings, lib))
        demo.queue(default_concurrency_limit=4)
        _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True)
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        deadline = time.monotonic() + seconds
        started = time.perf_counter()
        threads = [threading.Thread(target=user, args=(url, deadline, photo_ids, latencies, errors, lock)) for _ in range(users)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=seconds + 120)
        elapsed = time.perf_counter() - started
        demo.close()
        lib.close()

    ok = len(latencies)
    print(f"users={users} seconds={elapsed:.1f} requests_ok={ok} errors={len(errors)}")
    if ok:
        q = statistics.quantiles(latencies, n=20) if ok >= 2 else [latencies[0]] * 19
        print(f"throughput {ok / elapsed:.2f} req/s · p50 {statistics.median(latencies) * 1000:.0f} ms · p95 {q[18] * 1000:.0f} ms · max {max(latencies) * 1000:.0f} ms")
    for line in errors[:5]:
        print("  error:", line)


if __name__ == "__main__":
    main()
