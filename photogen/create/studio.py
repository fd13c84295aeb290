"""The studio: one call from "what the user asked for" to finished, honest, recorded outputs.

    request ─► plan (people, place, time) ─► base photo + faces ─► instant filter or diffusion
            ─► likeness ─► template ─► provenance ─► catalog (creation, sources, audit)

The CLI's `generate` and the UI's Create tab both call `Studio.create`; neither holds logic.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image

from photogen.create.context import context_photo_ids, is_tagged_only, known_people, plan_prompt
from photogen.create.instant import apply_instant_style, keep_faces
from photogen.create.presets import build_prompt, get_speed_preset
from photogen.create.prompt import KnownPerson, PromptPlan
from photogen.create.provenance import CreationClaim, LocalSigner, output_filename, save_output
from photogen.create.templates import parse_template_id, render_album_page, render_card, render_social_post
from photogen.errors import PhotogenError
from photogen.library.catalog import utc_now
from photogen.library.images import load_rgb
from photogen.library.library import Library
from photogen.library.photos import read_original
from photogen.settings import Settings

log = logging.getLogger(__name__)

Mode = Literal["instant", "restyle", "background", "text"]
OutputFormat = Literal["png", "jpeg", "pdf"]
Progress = Callable[[float, str], None]  # fraction done in [0, 1], what is happening
XYWH = tuple[int, int, int, int]

MODES: tuple[str, ...] = ("instant", "restyle", "background", "text")
# below this cosine a restyled face has drifted from its person; measured SFace same-person range 0.51-0.93
FACE_GUARD_MIN_LIKENESS = 0.55
WORKING_MAX_SIDE = 1600


@dataclass
class CreateRequest:
    """Everything a user can ask of the studio. Plain data: the UI and the CLI fill it alike."""

    mode: Mode
    prompt: str = ""
    photo_ids: list[int] = field(default_factory=list)
    people: list[str] = field(default_factory=list)
    style: str | None = None
    speed: str = "balanced"
    template: str | None = None
    title: str | None = None
    message: str | None = None
    model_id: str | None = None
    precision: str | None = None
    seed: int = 0
    variants: int = 1
    best_of: int | None = None
    steps: int | None = None
    size: tuple[int, int] | None = None
    background: Literal["keep", "blur", "replace"] = "keep"
    formats: tuple[OutputFormat, ...] = ("png",)


@dataclass
class CreatedVariant:
    image: Image.Image
    seed: int
    variant: int
    likeness: dict[str, float] = field(default_factory=dict)  # who -> cosine; 0 when the face is not found
    notes: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    reference_photo_ids: list[int] = field(default_factory=list)  # the people's reference photos it used

    @property
    def score(self) -> float:
        return float(np.mean(list(self.likeness.values()))) if self.likeness else 0.0


@dataclass
class Creation:
    id: int
    mode: Mode
    kind: str  # provenance kind: ai-generated, ai-composite or instant
    model_prompt: str
    variants: list[CreatedVariant]
    source_photo_ids: list[int]
    people: list[tuple[int, str]]
    model: str | None
    template: str | None
    seconds: float
    precision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "creation_id": self.id,
            "mode": self.mode,
            "kind": self.kind,
            "prompt_shown_to_model": self.model_prompt,
            "model": self.model,
            "precision": self.precision,
            "template": self.template,
            "sources": {"photo_ids": self.source_photo_ids, "people": [{"id": i, "name": n} for i, n in self.people]},
            "seconds": round(self.seconds, 3),
            "variants": [
                {
                    "seed": v.seed,
                    "variant": v.variant,
                    "likeness": {k: round(s, 3) for k, s in v.likeness.items()},
                    "notes": v.notes,
                    "timings": {k: round(t, 3) for k, t in v.timings.items()},
                    "paths": [str(p) for p in v.files],
                }
                for v in self.variants
            ],
        }


def xywh_to_corners(box: XYWH) -> tuple[int, int, int, int]:
    x, y, w, h = box
    return x, y, x + w, y + h


def union_box(boxes: Sequence[XYWH]) -> XYWH | None:
    if not boxes:
        return None
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return x0, y0, x1 - x0, y1 - y0


def _scale_box(box: Sequence[float], src: tuple[int, int], dst: tuple[int, int]) -> XYWH:
    """A box from an image of size `src` to the same place in one of size `dst` (x and y scale apart)."""
    sx, sy = dst[0] / max(1, src[0]), dst[1] / max(1, src[1])
    x, y, w, h = box
    return int(x * sx), int(y * sy), int(w * sx), int(h * sy)


def _iou(a: XYWH, b: XYWH) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union else 0.0


class Studio:
    """Builds its heavy parts (face models, diffusion sessions, the signer) once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._analyzer: Any = None
        self._engine: Any = None

    # ---- heavy parts, built lazily -----------------------------------------------------------

    def analyzer(self) -> Any:
        with self._lock:
            if self._analyzer is None:
                from photogen.faces.analyzer import FaceAnalyzer

                self._analyzer = FaceAnalyzer(settings=self.settings)
            return self._analyzer

    def engine(self) -> Any:
        with self._lock:
            if self._engine is None:
                from photogen.generate.commands import GenerationEngine

                self._engine = GenerationEngine(self.settings)
            return self._engine

    def signer(self, library: Library) -> LocalSigner:
        """One C2PA signer per data directory, its key kept encrypted in the library like everything else.

        Held by the opened library (`library.cache`), not by the studio: the studio is shared by every
        session, and a Space visitor's key must leave with their session."""
        with self._lock:
            return self._signer_locked(library, "c2pa-signer")

    def _signer_locked(self, library: Library, key: str) -> LocalSigner:
        if key not in library.cache:
            name = "signing:c2pa"
            try:
                stored = json.loads(library.get_blob(name))
                signer = LocalSigner(stored["chain"].encode(), stored["key"].encode())
            except PhotogenError:
                signer = LocalSigner.load_or_create(None)
                payload = json.dumps({"chain": signer.chain_pem.decode(), "key": signer.key_pem.decode()}).encode()
                library.put_blob(name, payload, "signing")
            library.cache[key] = signer
        return library.cache[key]

    # ---- the one entry point ---------------------------------------------------------------------

    def create(self, library: Library, request: CreateRequest, out_dir: Path, progress: Progress | None = None) -> Creation:
        started = time.perf_counter()
        say = progress or (lambda _f, _w: None)

        # 1. Check inputs
        if request.mode not in MODES:
            raise PhotogenError(f"Unknown mode {request.mode!r}: use {', '.join(MODES)}.")
        if request.mode in ("instant", "restyle", "background") and not request.photo_ids:
            raise PhotogenError(f"The {request.mode} mode starts from a photo: choose one (--photo ID).")
        if request.mode == "text" and not request.prompt.strip():
            raise PhotogenError("Describe the picture you want (a prompt).")
        if not 1 <= request.variants <= 16:
            raise PhotogenError("Ask for between 1 and 16 variants.")
        if request.best_of is not None and not request.variants <= request.best_of <= 32:
            raise PhotogenError(f"--best-of makes that many candidates and keeps the {request.variants} most alike: use {request.variants} to 32.")
        if request.best_of is not None and request.mode == "instant":
            raise PhotogenError("Instant styles make one picture; --best-of is for AI modes.")
        template = parse_template_id(request.template) if request.template else None
        if template is not None and template.kind == "album-page" and not request.photo_ids:
            raise PhotogenError("An album page needs photos: choose one or more (--photo ID).")

        # 2. Plan: who, where, when, and the prompt the model will see
        say(0.02, "Reading your prompt")
        plan = plan_prompt(library, request.prompt) if request.prompt.strip() else None
        people = self._resolve_people(library, plan, request.people)
        scene = plan.model_prompt() if plan is not None else request.prompt.strip()
        style = request.style or (plan.style if plan is not None else None)
        context_ids = context_photo_ids(library, plan) if plan is not None else []

        # 3. Base photos and their faces
        say(0.06, "Opening your photo")
        bases = [self._open_photo(library, pid) for pid in request.photo_ids]
        base = bases[0] if bases else None
        faces = self.analyzer().analyze(np.asarray(base)) if base is not None and request.mode != "text" else []
        boxes: list[XYWH] = [tuple(int(v) for v in f.box) for f in faces]  # type: ignore[misc]

        # 4. Make the pictures
        model_label: str | None = None
        precision: str | None = None
        if request.mode == "instant":
            say(0.2, "Applying the style")
            t0 = time.perf_counter()
            result = apply_instant_style(base, style or "watercolor", boxes, background=request.background)
            variants = [CreatedVariant(result.image, seed=request.seed, variant=0, timings={"style": time.perf_counter() - t0})]
            kind = "instant"
        else:
            variants, model_label, precision = self._diffuse(library, request, scene, style, base, faces, boxes, people, say)
            kind = "ai-generated"

        # 5. Likeness, and best-of
        if faces and base is not None and request.mode in ("restyle", "background"):
            labels = face_labels(library, request.photo_ids[0], faces)
            for v in variants:
                self._score_against_photo(v, faces, base.size, labels)
        if len(variants) > request.variants:  # best-of: keep the most alike, in their original order
            kept = sorted(variants, key=lambda v: v.score, reverse=True)[: request.variants]
            variants = sorted(kept, key=lambda v: v.variant)

        # 6. Templates
        if template is not None and template.kind == "card" and "pdf" in request.formats:
            say(0.8, "Upscaling for print")
            for v in variants:
                v.image, note = self._upscale_for_print(v.image)
                if note:
                    v.notes.append(note)
        if template is not None:
            say(0.85, "Laying out the " + template.kind.replace("-", " "))
            for v in variants:
                v.image = self._apply_template(template, v.image, bases, boxes, request)
            if template.kind == "album-page":
                kind = "ai-composite" if kind != "instant" else "instant"

        # 7. Record the creation (its sources are what the user sees and the audit log keeps)
        reference_ids = {pid for v in variants for pid in v.reference_photo_ids}
        source_ids = sorted(set(request.photo_ids) | set(context_ids) | reference_ids)
        creation_id = self._record(library, request, kind, scene, model_label, variants, source_ids, people)

        # 8. Write the files, each marked with what it is
        say(0.92, "Saving with provenance")
        claim = CreationClaim(
            kind=kind,  # type: ignore[arg-type]
            creation_id=f"{creation_id}",
            model=model_label,
            style=style,
            template=request.template,
        )
        out_dir.mkdir(parents=True, exist_ok=True)
        signer = self.signer(library)
        for v in variants:
            for fmt in request.formats:
                name = output_filename(claim, "jpeg" if fmt == "jpeg" else fmt)
                stem, suffix = name.rsplit(".", 1)
                path = out_dir / f"{stem}-v{v.variant}.{suffix}"
                spec = None
                if fmt == "pdf":
                    from photogen.create.layout import CARD_5X7

                    spec = CARD_5X7
                saved = save_output(v.image, path, claim, fmt=fmt, signer=signer, print_spec=spec)
                v.files.append(saved.path)
                if saved.c2pa_error:  # shown with the variant and kept in the audit log, never silent
                    v.notes.append(f"{path.suffix[1:].upper()} has no content credentials (C2PA signing failed: {saved.c2pa_error}); XMP and the watermark still mark it")
                    with library.catalog.tx():
                        library.catalog.execute(
                            "UPDATE creations SET params = json_set(params, '$.c2pa_failed', json(?)) WHERE id = ?",
                            (json.dumps({"file": path.name, "error": saved.c2pa_error}), creation_id),
                        )
                        library.catalog.audit("creation.c2pa-failed", str(creation_id), file=path.name, error=saved.c2pa_error)
        say(1.0, "Done")
        return Creation(
            id=creation_id,
            mode=request.mode,
            kind=kind,
            model_prompt=scene,
            variants=variants,
            source_photo_ids=source_ids,
            people=people,
            model=model_label,
            template=request.template,
            seconds=time.perf_counter() - started,
            precision=precision,
        )

    # ---- steps ---------------------------------------------------------------------------------

    def _open_photo(self, library: Library, photo_id: int) -> Image.Image:
        data = read_original(library, photo_id)
        return Image.fromarray(load_rgb(data, self.settings.max_image_pixels, max_side=WORKING_MAX_SIDE))

    def _resolve_people(self, library: Library, plan: PromptPlan | None, names: Sequence[str]) -> list[tuple[int, str]]:
        known = known_people(library)
        chosen: dict[int, str] = {}
        if plan is not None:
            for mention in plan.people:
                if is_tagged_only(mention.person_id):
                    continue  # known from photo tags alone: no face to draw them from; their photos are sources
                chosen[int(mention.person_id)] = mention.name
        for name in names:
            person = _find_person(known, name)
            chosen[int(person.id)] = person.name
        return list(chosen.items())

    def _diffuse(
        self,
        library: Library,
        request: CreateRequest,
        scene: str,
        style: str | None,
        base: Image.Image | None,
        faces: Sequence[Any],
        boxes: Sequence[XYWH],
        people: Sequence[tuple[int, str]],
        say: Progress,
    ) -> tuple[list[CreatedVariant], str, str]:
        from photogen.generate.commands import GenerationRequest
        from photogen.generate.sources import list_installed

        model_id = request.model_id or _default_model(list_installed(self.settings))
        speed = get_speed_preset(request.speed)
        steps, guidance = speed.for_model_family("fast")
        prompt, negative = build_prompt(scene or "a beautiful scene", style)
        guard = self._face_guard(faces) if request.mode == "restyle" and faces else None
        gen_request = GenerationRequest(
            mode=request.mode,  # type: ignore[arg-type]
            prompt=prompt,
            negative_prompt=negative,
            model_id=model_id,
            precision=request.precision,  # type: ignore[arg-type]
            seed=request.seed,
            variants=request.variants,
            steps=request.steps or steps,
            guidance_scale=guidance,
            size=request.size,
            photo=base,
            face_boxes=[xywh_to_corners(b) for b in boxes],
            face_guard=guard,
        )
        if people and request.mode == "text":
            from photogen.generate.identity import people_references

            # each person by id: names can repeat, ids cannot
            gen_request.people = people_references(library, [str(pid) for pid, _ in people])
            gen_request.best_of = request.best_of
        elif request.best_of and request.best_of > request.variants:
            gen_request.variants = request.best_of  # make the candidates; the most alike are kept below
        say(0.1, f"Loading {model_id}")

        def on_step(step: int, total: int) -> None:
            say(0.1 + 0.7 * step / max(total, 1), f"Painting, step {step} of {total}")

        result = self.engine().generate(gen_request, on_step)
        label = f"{result.model_id} (onnx {result.precision})" + (" [test model: random weights]" if result.test_model else "")
        variants = [CreatedVariant(g.image, seed=g.seed, variant=g.variant, timings=dict(g.timings)) for g in result.images]
        for v, g in zip(variants, result.images, strict=True):
            for person in (g.extra.get("likeness") or {}).get("people", []):
                v.likeness[str(person["name"])] = float(person["score"])
                if not person.get("found", True):
                    v.notes.append(f"{person['name']}: {person.get('note') or 'face not found'} (scored 0)")
            v.reference_photo_ids = sorted({pid for p in g.extra.get("people", []) for pid in p.get("photo_ids", [])})
        return variants, label, result.precision

    def _face_guard(self, faces: Sequence[Any]) -> Callable[[Image.Image, Image.Image], Image.Image]:
        """Keep each face of the photo its person: where the restyled face drifts, blend the original back."""
        analyzer = self.analyzer()

        def guard(original: Image.Image, generated: Image.Image) -> Image.Image:
            orig = np.asarray(original.convert("RGB"))
            gen = np.asarray(generated.convert("RGB").resize(original.size))
            found = analyzer.analyze(gen)
            drifted = []
            for face in faces:
                match = max(found, key=lambda f: _iou(tuple(f.box), tuple(face.box)), default=None)
                ok = match is not None and _iou(tuple(match.box), tuple(face.box)) > 0.3
                if not ok or float(np.dot(match.embedding, face.embedding)) < FACE_GUARD_MIN_LIKENESS:
                    drifted.append(tuple(int(v) for v in face.box))
            if not drifted:
                return generated
            blended = keep_faces(orig, gen, drifted, fidelity=0.85)
            return Image.fromarray(blended).resize(generated.size)

        return guard

    def _score_against_photo(self, variant: CreatedVariant, faces: Sequence[Any], base_size: tuple[int, int], labels: Sequence[str] = ()) -> None:
        """Likeness of each face of the photo in the result: the cosine of the two SFace embeddings,
        named by who the face is ("Grandpa Joe 0.90"), or "face N" for someone not named yet."""
        gen = np.asarray(variant.image.convert("RGB"))
        found = self.analyzer().analyze(gen)
        for i, face in enumerate(faces, start=1):
            box = _scale_box(face.box, base_size, (gen.shape[1], gen.shape[0]))
            match = max(found, key=lambda f: _iou(tuple(f.box), box), default=None)  # type: ignore[arg-type]
            label = labels[i - 1] if i - 1 < len(labels) else f"face {i}"
            if match is None or _iou(tuple(match.box), box) < 0.3:  # type: ignore[arg-type]
                variant.likeness[label] = 0.0
                variant.notes.append(f"{label}: not found in the result")
            else:
                variant.likeness[label] = max(0.0, float(np.dot(match.embedding, face.embedding)))

    def upscale_creation(
        self, library: Library, creation_id: int, images: Sequence[Image.Image], out_dir: Path, progress: Progress | None = None
    ) -> list[Path]:
        """Upscale a creation's pictures x4 (Real-ESRGAN) for print, each saved with the creation's own
        provenance (an instant stays "instant, not AI-generated") and the upscale recorded as an edit."""
        from photogen.create.creations import get_creation
        from photogen.create.upscale import upscale

        if not images:
            raise PhotogenError("Make something first, then upscale it.")
        record = get_creation(library, creation_id)
        say = progress or (lambda _f, _w: None)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for i, image in enumerate(images):
            def tiles(done: int, total: int, i: int = i) -> None:
                say((i + done / max(total, 1)) / len(images), f"Upscaling picture {i + 1} of {len(images)}: {done}/{total} tiles")

            say(i / len(images), f"Upscaling picture {i + 1} of {len(images)}")
            result = upscale(image, scale=4, model="realesrgan-fast", progress=tiles)
            claim = CreationClaim(
                kind=record.kind,  # type: ignore[arg-type]
                creation_id=str(record.id),
                model=record.model,
                style=record.style,
                template=record.template,
                edits=(f"upscaled x{result.scale} with {result.model}",),
            )
            saved = save_output(result.image, out_dir / f"creation-{record.id}-v{i}-upscaled-x{result.scale}.png", claim, signer=self.signer(library))
            paths.append(saved.path)
        say(1.0, "Done")
        return paths

    def _upscale_for_print(self, image: Image.Image) -> tuple[Image.Image, str | None]:
        """Real-ESRGAN (the compact x4 model, on the CPU) so a 512 px picture prints sharp on a 5x7 in card."""
        from photogen.create.layout import CARD_5X7
        from photogen.create.upscale import upscale_to_fit

        # the card's picture takes about half the page: cover that, not the whole sheet
        width, height = CARD_5X7.page_px
        result = upscale_to_fit(image, (width, height // 2), model="realesrgan-fast")
        if result.scale == 1:
            return image, None
        return result.image, f"upscaled x{result.scale} for print with {result.model}"

    def _apply_template(self, template: Any, image: Image.Image, bases: Sequence[Image.Image], boxes: Sequence[XYWH], request: CreateRequest) -> Image.Image:
        subject = union_box([_scale_box(b, bases[0].size, image.size) for b in boxes]) if bases else None
        if template.kind == "card":
            return render_card(image, template.name, title=request.title, message=request.message, subject_box=subject)
        if template.kind == "post":
            return render_social_post(image, template.name, subject_box=subject).image
        # album page: the user's photos, untouched, over the made image as the backdrop
        return render_album_page(list(bases), background=image, title=request.title or "").image

    def _record(
        self,
        library: Library,
        request: CreateRequest,
        kind: str,
        scene: str,
        model: str | None,
        variants: Sequence[CreatedVariant],
        photo_ids: Sequence[int],
        people: Sequence[tuple[int, str]],
    ) -> int:
        cat = library.catalog
        params = {
            "mode": request.mode,
            "style": request.style,
            "speed": request.speed,
            "template": request.template,
            "seed": request.seed,
            "variants": len(variants),
            "model": model,
            "kind": kind,
            "title": request.title,
            "message": request.message,
        }
        with cat.tx():
            creation_id = int(
                cat.execute(
                    "INSERT INTO creations (created_at, kind, prompt, params) VALUES (?, ?, ?, ?)",
                    (utc_now(), request.mode, request.prompt or scene, json.dumps(params)),
                ).lastrowid
            )
            for pid in photo_ids:
                cat.execute("INSERT INTO creation_sources (creation_id, photo_id) VALUES (?, ?)", (creation_id, pid))
            for person_id, _name in people:
                cat.execute("INSERT INTO creation_sources (creation_id, person_id) VALUES (?, ?)", (creation_id, person_id))
            for v in variants:
                buf = io.BytesIO()
                v.image.save(buf, format="PNG")
                library.put_blob(f"creation:{creation_id}:{v.variant}", buf.getvalue(), "creation", creation_id=creation_id)
            cat.execute("UPDATE creations SET output_blob = ? WHERE id = ?", (f"creation:{creation_id}:{variants[0].variant}", creation_id))
            cat.audit(
                "creation",
                str(creation_id),
                mode=request.mode,
                kind=kind,
                photo_ids=list(photo_ids),
                person_ids=[p for p, _ in people],
                model=model,
            )
        return creation_id


def face_labels(library: Library, photo_id: int, faces: Sequence[Any], min_cosine: float = 0.6) -> list[str]:
    """Who each face found in a photo is: the name of the person its stored face (same photo, most
    alike embedding) is on, else "face N". Two faces never take one name."""
    from photogen.faces.people import load_faces

    stored = [f for f in load_faces(library, usable_only=False) if f.photo_id == photo_id and f.person_id is not None]
    names = {int(r["id"]): r["name"] for r in library.catalog.query("SELECT id, name FROM people WHERE name IS NOT NULL")}
    labels, used = [], set()
    for i, face in enumerate(faces, start=1):
        scored = [(float(np.dot(np.asarray(face.embedding, np.float32), s.embedding)), s) for s in stored if s.embedding.shape == np.shape(face.embedding)]
        best = max(scored, key=lambda x: x[0], default=None)
        name = names.get(best[1].person_id) if best is not None and best[0] >= min_cosine else None  # type: ignore[arg-type]
        if name and name not in used:
            used.add(name)
            labels.append(name)
        else:
            labels.append(f"face {i}")
    return labels


def model_installed(settings: Settings) -> bool:
    from photogen.generate.sources import list_installed

    return bool(list_installed(settings))


def choose_mode(*, has_photo: bool, prompt: str, style: str | None, ai_available: bool) -> Mode:
    """What a user with one Generate button means: a photo and a classic style is an instant filter;
    a photo and words is a new background; words alone are a new scene."""
    from photogen.create.instant import list_instant_styles

    instant_styles = {s["name"] for s in list_instant_styles()}
    if has_photo and (not ai_available or (style in instant_styles and not prompt.strip())):
        return "instant"
    if has_photo:
        return "background" if prompt.strip() else "restyle"
    if not ai_available:
        raise PhotogenError(
            "Making a new scene needs a diffusion model. Choose a photo under 'Start from photos' for an instant "
            "style, or get a model once in the Models tab (`photogen models download lcm-dreamshaper-v7` in a terminal)."
        )
    return "text"


def _find_person(known: Sequence[KnownPerson], name: str) -> KnownPerson:
    wanted = name.strip().lstrip("@").casefold()
    if wanted == "me":
        for person in known:
            if person.is_me:
                return person
        raise PhotogenError("No one is marked as you yet: in People, choose your face and mark it as me.")
    matches = [p for p in known if p.name.casefold() == wanted]
    if len(matches) > 1:
        ids = " and ".join(f"person {p.id}" for p in matches)
        raise PhotogenError(f"{name!r} could be {ids}: both have that name. Rename one in People, then choose again.")
    if matches:
        return matches[0]
    close = difflib.get_close_matches(name, [p.name for p in known], n=3, cutoff=0.5)
    hint = f" Did you mean {', '.join(close)}?" if close else (" Known people: " + ", ".join(p.name for p in known[:10]) if known else " Name people in the People tab first.")
    raise PhotogenError(f"No person named {name!r}.{hint}")


def _default_model(installed: Sequence[str]) -> str:
    if not installed:
        raise PhotogenError(
            "No diffusion model is installed yet. Get one in the Models tab (or `photogen models download "
            "lcm-dreamshaper-v7` in a terminal); instant styles work without one."
        )
    from photogen.generate.catalog import CATALOG

    preferred = [m.id for m in CATALOG if m.id in installed and m.kind != "test"]
    return preferred[0] if preferred else installed[0]


def today() -> dt.date:
    return dt.date.today()
