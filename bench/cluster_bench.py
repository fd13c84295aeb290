"""Clustering faces into people at library scale: full re-cluster and the incremental step.

Synthetic libraries of 10,000 / 50,000 / 100,000 faces: unit vectors around random 128-d centres
(10 faces a person, per-dimension Gaussian noise 0.06, so two faces of one person sit at cosine
~0.7 like real SFace pairs), quality 0.9; plus a share of low-quality faces (quality 0.2, more
noise: they only attach) and of photos holding two people (two faces one photo_id: they must
never join). Each size runs in a fresh subprocess so its peak memory (ru_maxrss) is its own.

Per size it prints the wall and CPU seconds of `cluster_faces` and the process's peak RSS, and
pairwise precision / recall against the true identities (computed from contingency counts).
Then, into the largest library clustered as its identities, `recluster_around` with 100 new
faces (90 of known people, 10 of new ones): the incremental step of `photogen index`; and the
same step through a real encrypted library (`assign_unassigned`: the catalog read and written).

    python bench/cluster_bench.py                       # 10k 50k 100k
    python bench/cluster_bench.py --sizes 20000 --repeat 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PER_PERSON = 10
NOISE = 0.06
WEAK_SHARE = 0.05  # faces too poor to define a person (quality 0.2, twice the noise)
SHARED_PHOTO_SHARE = 0.05  # faces whose photo also holds another person's face


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def synthetic_library(faces: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """(FaceRecords, identity per face)."""
    from photogen.faces.cluster_types import FaceRecord

    rng = np.random.default_rng(seed)
    people = faces // PER_PERSON
    centres = rng.normal(size=(people, 128)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    identity = np.repeat(np.arange(people), PER_PERSON)
    weak = rng.random(len(identity)) < WEAK_SHARE
    noise = rng.normal(size=(len(identity), 128)).astype(np.float32) * np.where(weak, 2 * NOISE, NOISE)[:, None]
    vectors = centres[identity] + noise
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    photo = np.arange(len(identity))
    # some faces share their photo with a face of the next person
    shared = np.flatnonzero(rng.random(len(identity)) < SHARED_PHOTO_SHARE)
    shared = shared[shared + PER_PERSON < len(identity)]
    photo[shared + PER_PERSON] = photo[shared]
    records = [FaceRecord(i, int(photo[i]), vectors[i], 0.2 if weak[i] else 0.9) for i in range(len(identity))]
    return records, identity


def pairwise_scores(groups: list[tuple[int, ...]], identity: np.ndarray) -> tuple[float, float]:
    """Pairwise precision and recall of the people found against the true identities."""
    label = np.full(len(identity), -1)
    for k, group in enumerate(groups):
        label[list(group)] = k
    both = label >= 0
    pairs = lambda counts: float((counts * (counts - 1) // 2).sum())  # noqa: E731
    _, joint = np.unique(np.stack([label[both], identity[both]]), axis=1, return_counts=True)
    _, found = np.unique(label[both], return_counts=True)
    _, truth = np.unique(identity, return_counts=True)
    together = pairs(joint)
    return together / max(pairs(found), 1.0), together / max(pairs(truth), 1.0)


def run_full(size: int, repeat: int) -> dict:
    from photogen.faces.cluster import cluster_faces

    records, identity = synthetic_library(size)
    built = _peak_mib()
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), time.process_time()
        result = cluster_faces(records)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - cpu0)
    precision, recall = pairwise_scores([*result.people.values(), *result.new_people], identity)
    return {
        "faces": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "data_mib": built,
        "peak_mib": _peak_mib(),
        "people": len(result.new_people),
        "unassigned": len(result.unassigned),
        "precision": precision,
        "recall": recall,
    }


def run_incremental(size: int, repeat: int) -> dict:
    from photogen.faces.cluster_types import FaceRecord
    from photogen.faces.incremental import recluster_around

    records, identity = synthetic_library(size + 1000, seed=1)
    known, extra = records[:size], records[size:]
    people: dict[int, list] = {}
    for face in known:
        if face.quality >= 0.5:
            people.setdefault(int(identity[face.face_id]), []).append(face)
    rng = np.random.default_rng(2)
    # 90 new faces of known people (new photos) and 10 of people not seen yet
    new = [
        FaceRecord(10**9 + i, 10**9 + i, known[j].embedding, 0.9)
        for i, j in enumerate(rng.choice(size, 90, replace=False))
    ]
    new += [FaceRecord(f.face_id, 10**8 + f.face_id, f.embedding, 0.9) for f in extra[:10]]
    built = _peak_mib()
    wall = cpu = float("inf")
    for _ in range(repeat):
        start, cpu0 = time.perf_counter(), time.process_time()
        result, scope = recluster_around(new, people)
        wall, cpu = min(wall, time.perf_counter() - start), min(cpu, time.process_time() - cpu0)
    return {
        "faces": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "data_mib": built,
        "peak_mib": _peak_mib(),
        "scope": len(scope),
        "joined_known": sum(len(v) for v in result.people.values()) - (len(scope) - len(new)),
        "new_people": len(result.new_people),
    }


def run_catalog(size: int, repeat: int) -> dict:
    """The same 100 new faces through a real encrypted library: `assign_unassigned` as `photogen
    index` runs it (all faces read from the catalog, the re-clustered scope written back)."""
    import shutil
    import tempfile

    from photogen.faces.people import assign_unassigned, encode_vector
    from photogen.library.library import open_library
    from photogen.settings import Settings

    records, identity = synthetic_library(size + 1000, seed=1)
    home = Path(tempfile.mkdtemp(prefix="cluster-bench-"))
    settings = Settings(
        home=home / "home", passphrase="bench", use_keyring=False, kdf_memory_kib=19456, kdf_iterations=2
    )
    try:
        with open_library(settings) as lib:
            cat = lib.catalog
            with cat.tx():
                for photo in sorted({r.photo_id for r in records}):
                    cat.execute(
                        "INSERT INTO photos (id, content_hash, faces_indexed, indexed_at) VALUES (?, ?, 1, '2026-01-01')",
                        (photo + 1, f"synthetic-{photo}"),
                    )
                for person in range(size // PER_PERSON):
                    cat.execute("INSERT INTO people (id, created_at) VALUES (?, '2026-01-01')", (person + 1,))
                insert = (
                    "INSERT INTO faces (photo_id, box_x, box_y, box_w, box_h, score, quality, embedding, person_id)"
                    " VALUES (?, 0, 0, 100, 100, 0.9, ?, ?, ?)"
                )
                for r in records[:size]:  # as a full re-cluster left them: weak faces on nobody
                    person = int(identity[r.face_id]) + 1 if r.quality >= 0.5 else None
                    cat.execute(insert, (r.photo_id + 1, r.quality, encode_vector(r.embedding), person))
                cat.audit("people.recluster", None, actor="photogen", upto=size)
                rng = np.random.default_rng(2)
                for i, j in enumerate(rng.choice(size, 90, replace=False)):
                    cat.execute(
                        insert, (records[size + 100 + i].photo_id + 1, 0.9, encode_vector(records[j].embedding), None)
                    )
                for r in records[size : size + 10]:
                    cat.execute(insert, (r.photo_id + 1, 0.9, encode_vector(r.embedding), None))
            built = _peak_mib()
            start, cpu0 = time.perf_counter(), time.process_time()
            report = assign_unassigned(lib)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    finally:
        shutil.rmtree(home, ignore_errors=True)
    return {
        "faces": size,
        "wall_s": wall,
        "cpu_s": cpu,
        "data_mib": built,
        "peak_mib": _peak_mib(),
        "changed": report.changed,
    }


def _child(kind: str, size: int, repeat: int) -> dict | None:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(size), str(repeat)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        print(f"  {kind} {size} failed: {(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        return None
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size; the fastest counts")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, size, repeat = args.child[0], int(args.child[1]), int(args.child[2])
        runner = {"full": run_full, "incremental": run_incremental, "catalog": run_catalog}[kind]
        print(json.dumps(runner(size, repeat)))
        return

    print(f"CPU cores: {os.cpu_count()}  ·  load average: {os.getloadavg()[0]:.1f}")
    print(
        f"{'full re-cluster':16s} {'wall s':>7s} {'CPU s':>7s} {'peak MiB':>9s} {'data MiB':>9s} {'people':>7s} {'P':>6s} {'R':>6s}"
    )
    for size in args.sizes:
        run = _child("full", size, args.repeat)
        if run:
            print(
                f"{size:>10,d} faces {run['wall_s']:7.1f} {run['cpu_s']:7.1f} {run['peak_mib']:9.0f} "
                f"{run['data_mib']:9.0f} {run['people']:7d} {run['precision']:6.3f} {run['recall']:6.3f}"
            )
    largest = max(args.sizes)
    run = _child("incremental", largest, args.repeat)
    if run:
        print(
            f"\n100 new faces into {largest:,d}: {run['wall_s']:.2f} s wall, {run['cpu_s']:.2f} CPU-s, peak "
            f"{run['peak_mib']:.0f} MiB (data {run['data_mib']:.0f} MiB); re-clustered {run['scope']} faces, "
            f"{run['new_people']} new people"
        )
    run = _child("catalog", largest, 1)
    if run:
        print(
            f"the same through an encrypted library (assign_unassigned): {run['wall_s']:.2f} s wall, "
            f"{run['cpu_s']:.2f} CPU-s, peak {run['peak_mib']:.0f} MiB (library built: {run['data_mib']:.0f} MiB); "
            f"{run['changed']} face(s) written"
        )


if __name__ == "__main__":
    main()
