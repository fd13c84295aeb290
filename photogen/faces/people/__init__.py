"""People in the catalog: faces stored per photo, grouped into people, and the user's say over both.

The clustering itself is pure (`photogen.faces.cluster`); this package maps it onto the catalog,
through the library's `faces_store` and `people_store` (the only places its rows are read or written):

- `records`: `StoredFace`, `Person` and the other records, read from the catalog.
- `reading`: who is in the library (`list_people`, `list_faces`), suggested names, reference faces.
- `grouping`: the automatic grouping (`recluster`, `assign_unassigned` after indexing) and the
  "same person?" suggestions.
- `actions`: the user's say (name, "me", hide, move a face, split, "not the same", undo).
- `merging`: merging two people, the plan shown first.

Everything is importable from here: `from photogen.faces import people; people.move_face(...)`.
"""

from photogen.faces.people.actions import (
    NEW_PERSON,
    NOBODY,
    UNDOABLE,
    MoveTarget,
    dismiss_suggestion,
    hide_person,
    last_undoable,
    mark_me,
    move_face,
    name_face,
    name_person,
    parse_move_target,
    set_reference,
    split_person,
    undo_last,
)
from photogen.faces.people.grouping import (
    MergeSuggestion,
    assign_unassigned,
    cluster_params,
    decisions_of,
    dismissed_suggestions,
    merge_suggestions,
    recluster,
    user_merges,
)
from photogen.faces.people.merging import (
    CONFLICT_CHOICES,
    ConflictChoice,
    MergeConflict,
    MergePlan,
    merge_people,
    plan_merge,
)
from photogen.faces.people.reading import (
    faces_of_person,
    faces_on_no_one,
    get_person,
    list_faces,
    list_people,
    reference_faces,
    suggested_names,
)
from photogen.faces.people.records import (
    ClusteringReport,
    FaceListing,
    Person,
    PersonReferences,
    StoredFace,
    get_face,
    load_faces,
)
from photogen.library.faces_store import encode_vector

__all__ = [
    "CONFLICT_CHOICES",
    "NEW_PERSON",
    "NOBODY",
    "UNDOABLE",
    "ClusteringReport",
    "ConflictChoice",
    "FaceListing",
    "MergeConflict",
    "MergePlan",
    "MergeSuggestion",
    "MoveTarget",
    "Person",
    "PersonReferences",
    "StoredFace",
    "assign_unassigned",
    "cluster_params",
    "decisions_of",
    "dismiss_suggestion",
    "dismissed_suggestions",
    "encode_vector",
    "faces_of_person",
    "faces_on_no_one",
    "get_face",
    "get_person",
    "hide_person",
    "last_undoable",
    "list_faces",
    "list_people",
    "load_faces",
    "mark_me",
    "merge_people",
    "merge_suggestions",
    "move_face",
    "name_face",
    "name_person",
    "parse_move_target",
    "plan_merge",
    "recluster",
    "reference_faces",
    "set_reference",
    "split_person",
    "suggested_names",
    "undo_last",
    "user_merges",
]
