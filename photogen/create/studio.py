"""The studio: one call from "what the user asked for" to finished, honest, recorded outputs.

    request ─► plan (people, place, time) ─► base photo + faces ─► instant filter or diffusion
            ─► likeness ─► template ─► provenance ─► catalog (creation, sources, audit)

The CLI's `generate` and the UI's Create tab both call `Studio.create`; neither holds logic.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from photogen.box import Box
from photogen.create.claim import CreationClaim, output_filename
from photogen.create.content_credentials import LocalSigner
from photogen.create.context import context_photo_ids, plan_prompt, resolve_people
from photogen.create.instant import apply_instant_style
from photogen.create.likeness import face_guard, face_labels, score_against_photo
from photogen.create.presets import build_prompt, get_speed_preset
from photogen.create.provenance import save_output
from photogen.create.request import CreatedVariant, CreateRequest, Creation, check_request
from photogen.create.templates import render_album_page, render_card, render_social_post
from photogen.create.upscale import RealEsrganUpscaler, upscale, upscale_to_fit
from photogen.errors import PhotogenError
from photogen.library import creations_store
from photogen.library.images import load_rgb
from photogen.library.library import Library
from photogen.library.photos import read_original
from photogen.settings import Settings

log = logging.getLogger(__name__)

Progress = Callable[[float, str], None]  # fraction done in [0, 1], what is happening

WORKING_MAX_SIDE = 1600


class Studio:
    """Builds its heavy parts (face models, diffusion sessions, the signer) once, on first use."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.Lock()
        self._analyzer: Any = None
        self._engine: Any = None
        self._upscalers: dict[str, RealEsrganUpscaler] = {}  # by model: loading one takes seconds, so keep it

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

    def upscaler(self, model: str) -> RealEsrganUpscaler:
        """The studio's Real-ESRGAN of `model` (its weights load on first use)."""
        with self._lock:
            if model not in self._upscalers:
                self._upscalers[model] = RealEsrganUpscaler(model)  # type: ignore[arg-type]
            return self._upscalers[model]

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
        template = check_request(request)

        # 2. Plan: who, where, when, and the prompt the model will see
        say(0.02, "Reading your prompt")
        plan = plan_prompt(library, request.prompt) if request.prompt.strip() else None
        people = resolve_people(library, plan, request.people)
        scene = plan.model_prompt() if plan is not None else request.prompt.strip()
        style = request.style or (plan.style if plan is not None else None)
        context_ids = context_photo_ids(library, plan) if plan is not None else []

        # 3. Base photos and their faces
        say(0.06, "Opening your photo")
        bases = [self._open_photo(library, pid) for pid in request.photo_ids]
        base = bases[0] if bases else None
        faces = self.analyzer().analyze(np.asarray(base)) if base is not None and request.mode != "text" else []
        boxes = [Box.of(f.box).rounded() for f in faces]

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
                score_against_photo(self.analyzer(), v, faces, base.size, labels)
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
                    from photogen.create.print_page import CARD_5X7

                    spec = CARD_5X7
                saved = save_output(v.image, path, claim, fmt=fmt, signer=signer, print_spec=spec)
                v.files.append(saved.path)
                if saved.c2pa_error:  # shown with the variant and kept in the audit log, never silent
                    v.notes.append(f"{path.suffix[1:].upper()} has no content credentials (C2PA signing failed: {saved.c2pa_error}); XMP and the watermark still mark it")
                    creations_store.note_c2pa_failure(library, creation_id, path.name, saved.c2pa_error)
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

    def _diffuse(
        self,
        library: Library,
        request: CreateRequest,
        scene: str,
        style: str | None,
        base: Image.Image | None,
        faces: Sequence[Any],
        boxes: Sequence[Box],
        people: Sequence[tuple[int, str]],
        say: Progress,
    ) -> tuple[list[CreatedVariant], str, str]:
        from photogen.generate.commands import GenerationRequest
        from photogen.generate.sources import list_installed

        model_id = request.model_id or _default_model(list_installed(self.settings))
        speed = get_speed_preset(request.speed)
        steps, guidance = speed.for_model_family("fast")
        prompt, negative = build_prompt(scene or "a beautiful scene", style)
        guard = face_guard(self.analyzer(), faces) if request.mode == "restyle" and faces else None
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
            face_boxes=list(boxes),
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

    def upscale_creation(
        self, library: Library, creation_id: int, images: Sequence[Image.Image], out_dir: Path, progress: Progress | None = None
    ) -> list[Path]:
        """Upscale a creation's pictures x4 (Real-ESRGAN) for print, each saved with the creation's own
        provenance (an instant stays "instant, not AI-generated") and the upscale recorded as an edit."""
        from photogen.create.creations import get_creation

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
            result = upscale(image, scale=4, model="realesrgan-fast", progress=tiles, upscaler=self.upscaler("realesrgan-fast"))
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
        from photogen.create.print_page import CARD_5X7

        # the card's picture takes about half the page: cover that, not the whole sheet
        width, height = CARD_5X7.page_px
        result = upscale_to_fit(image, (width, height // 2), model="realesrgan-fast", upscaler=self.upscaler("realesrgan-fast"))
        if result.scale == 1:
            return image, None
        return result.image, f"upscaled x{result.scale} for print with {result.model}"

    def _apply_template(self, template: Any, image: Image.Image, bases: Sequence[Image.Image], boxes: Sequence[Box], request: CreateRequest) -> Image.Image:
        subject = Box.union(b.scaled(bases[0].size, image.size).rounded() for b in boxes) if bases else None
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
        pictures = []
        for v in variants:
            buf = io.BytesIO()
            v.image.save(buf, format="PNG")
            pictures.append((v.variant, buf.getvalue()))
        return creations_store.add_creation(
            library,
            mode=request.mode,
            prompt=request.prompt or scene,
            params=params,
            photo_ids=photo_ids,
            person_ids=[p for p, _ in people],
            pictures=pictures,
        )


def model_installed(settings: Settings) -> bool:
    from photogen.generate.sources import list_installed

    return bool(list_installed(settings))


def _default_model(installed: Sequence[str]) -> str:
    if not installed:
        raise PhotogenError(
            "No diffusion model is installed yet. Get one in the Models tab (or `photogen models download "
            "lcm-dreamshaper-v7` in a terminal); instant styles work without one."
        )
    from photogen.generate.catalog import CATALOG

    preferred = [m.id for m in CATALOG if m.id in installed and m.kind != "test"]
    return preferred[0] if preferred else installed[0]
