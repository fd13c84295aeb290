"""Past creations: browse, reopen, download and delete what was made (UI and `photogen creations`).

A creation's pictures live encrypted in the library (`creation:<id>:<variant>` blobs); its sources
(photos and people) are in `creation_sources`. A revoke deletes the creations made from the photos
it removes; `delete_creation` deletes one on the user's word, with its encrypted pictures.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image

from photogen.errors import PhotogenError
from photogen.library import creations_store
from photogen.library.library import Library


@dataclass(frozen=True, slots=True)
class CreationRecord:
    id: int
    created_at: str
    mode: str
    kind: str  # instant | ai-generated | ai-composite
    prompt: str | None
    style: str | None
    template: str | None
    model: str | None
    photo_ids: list[int]
    people: list[str]  # names (or "Person N") of the people it was made with
    variants: list[str]  # blob names of its pictures, variant order

    @property
    def label(self) -> str:
        what = self.template or self.style or self.mode
        return f"#{self.id} · {self.created_at[:16].replace('T', ' ')} · {what}" + (f" · {self.prompt}" if self.prompt else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created_at": self.created_at,
            "mode": self.mode,
            "kind": self.kind,
            "prompt": self.prompt,
            "style": self.style,
            "template": self.template,
            "model": self.model,
            "photo_ids": self.photo_ids,
            "people": self.people,
            "pictures": len(self.variants),
        }


def _record(library: Library, row: Any) -> CreationRecord:
    params = json.loads(row["params"] or "{}")
    photos = creations_store.source_photo_ids(library, row["id"])
    people = [name or f"Person {person_id}" for person_id, name in creations_store.source_people(library, row["id"])]
    variants = creations_store.picture_names(library, row["id"])
    return CreationRecord(
        id=int(row["id"]),
        created_at=row["created_at"],
        mode=row["kind"],
        kind=params.get("kind") or ("instant" if row["kind"] == "instant" else "ai-generated"),
        prompt=row["prompt"],
        style=params.get("style"),
        template=params.get("template"),
        model=params.get("model"),
        photo_ids=photos,
        people=people,
        variants=sorted(variants, key=lambda n: int(n.rsplit(":", 1)[-1]) if n.rsplit(":", 1)[-1].isdigit() else 0),
    )


def list_creations(library: Library, limit: int = 200) -> list[CreationRecord]:
    """Newest first."""
    return [_record(library, r) for r in creations_store.creation_rows(library, limit)]


def get_creation(library: Library, creation_id: int) -> CreationRecord:
    row = creations_store.creation_row(library, creation_id)
    if row is None:
        raise _no_creation(creation_id)
    return _record(library, row)


def _no_creation(creation_id: int) -> PhotogenError:
    return PhotogenError(f"No creation #{creation_id} (it may have been deleted, or made from a revoked album); see `photogen creations list`.")


def creation_images(library: Library, creation_id: int) -> list[Image.Image]:
    """The creation's pictures, decrypted, in variant order."""
    record = get_creation(library, creation_id)
    return [Image.open(io.BytesIO(library.get_blob(name))).convert("RGB") for name in record.variants]


def save_creation(library: Library, creation_id: int, out_dir: Path, signer: Any = None) -> list[Path]:
    """Write the creation's pictures as PNG files with provenance (what it is; `signer`: the studio's local signer)."""
    from photogen.create.claim import CreationClaim
    from photogen.create.provenance import save_output

    record = get_creation(library, creation_id)
    claim = CreationClaim(kind=record.kind, creation_id=str(record.id), model=record.model, style=record.style, template=record.template)  # type: ignore[arg-type]
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, image in enumerate(creation_images(library, creation_id)):
        paths.append(save_output(image, out_dir / f"creation-{record.id}-v{i}.png", claim, signer=signer).path)
    return paths


def delete_creation(library: Library, creation_id: int) -> None:
    """Delete a creation, its record of sources and its encrypted pictures (files already downloaded are the user's)."""
    if not creations_store.delete_creation(library, creation_id):
        raise _no_creation(creation_id)
    library.collect_garbage()
