"""Create tab: a prompt box, people, a template, a style and one Generate button; the rest behind Advanced."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import gradio as gr
from PIL import Image

from photogen.create.context import known_people, library_suggestions
from photogen.create.instant import list_instant_styles
from photogen.create.presets import list_speed_presets, list_style_presets
from photogen.create.request import CreateRequest, Creation, build_request, more_like_this, refine_request
from photogen.create.studio import Studio, model_installed
from photogen.create.templates import list_templates
from photogen.errors import PhotogenError
from photogen.library import creations_store
from photogen.library.library import Library
from photogen.library.photos import list_photos, people_in_photos
from photogen.ui import served
from photogen.ui.common import readable_errors, require
from photogen.ui.create_picker import ALL_ALBUMS, ANYONE, photo_cards, photo_choices, picker_filters
from photogen.ui.session import UISession
from photogen.ui.views import TabView

NO_TEMPLATE = "Just the picture"
IDEAS_LABEL = "Ideas from your library"
IDEAS_NEED_MODEL = "Ideas from your library (they make new scenes, so they appear once an AI model is installed)"
FIRST_STEPS = (
    "**Start here:** photogen has no photos yet. Connect a folder, a Google Takeout export or upload a few "
    "photos in **Connect**; then name the people it finds in **People**, and come back to make something."
)
DEFAULT_MODEL = "lcm-dreamshaper-v7"


def model_banner(settings: Any) -> str:
    """What to do to get AI styles, with the catalog's download size; empty once a model is installed."""
    from photogen.generate.catalog import get_model_spec

    if model_installed(settings):
        return ""
    spec = get_model_spec(DEFAULT_MODEL)
    return (
        "Instant styles work right now, on your photos, without any download. For AI styles and new scenes "
        f"with your people, get a model once in the **Models** tab: {spec.title}, "
        f"{spec.download_bytes / 1e9:.1f} GB to download (its license is shown first), or import one you already have."
    )


def unnamed_people_note(library: Library) -> str:
    """People found in the photos but not named yet, so a new user sees that faces were found."""
    from photogen.faces.people import list_people

    unnamed = [p for p in list_people(library, include_hidden=False) if not p.name]
    if not unnamed:
        return ""
    shown = [f"{p.label}, {len(p.photo_ids)} photo{'' if len(p.photo_ids) == 1 else 's'}" for p in unnamed[:6]]
    more = f"; and {len(unnamed) - 6} more" if len(unnamed) > 6 else ""
    return "Found in your photos: " + "; ".join(shown) + more + ": name them in **People** to put them in pictures."


def default_style(ai_available: bool) -> str:
    """Watercolor (instant) until a model is installed, then the first AI style."""
    return list_style_presets()[0]["name"] if ai_available else "watercolor"


def style_choices(ai_available: bool) -> list[tuple[str, str]]:
    choices = [(f"{s['label']} (instant)", s["name"]) for s in list_instant_styles()]
    if ai_available:
        choices += [(s["label"], s["name"]) for s in list_style_presets()]
    return choices


def template_choices() -> list[tuple[str, str]]:
    return [(NO_TEMPLATE, "")] + [(t["label"], t["id"]) for t in list_templates()]


def people_choices(library: Library) -> list[tuple[str, str]]:
    return [(f"{p.name}{' (me)' if p.is_me else ''}", p.name) for p in known_people(library)]


def people_chips(library: Library) -> list[tuple[Image.Image, str]]:
    """Each named person's best face, captioned with the name: what the People chips show."""
    from photogen.faces import people as people_model
    from photogen.faces.indexing import face_crop

    chips = []
    for person in known_people(library):
        refs = people_model.reference_faces(library, int(person.id), limit=1)
        if refs.faces:
            chips.append((face_crop(library, refs.faces[0].id), person.name))
    return chips


def creation_choices(library: Library) -> list[tuple[str, int]]:
    from photogen.create.creations import list_creations

    return [(r.label, r.id) for r in list_creations(library)]


def record_markdown(library: Library, record: Any) -> str:
    """The sources of a reopened creation, as `sources_markdown` shows a new one."""
    made = record.created_at[:16].replace("T", " ")
    prompt = f"Prompt: *{record.prompt}*" if record.prompt else None
    return _sources(library, record.kind, f"creation #{record.id}, made {made}", record.model, prompt, record.photo_ids, record.people)


def named_in_photos(library: Library, photo_ids: list[int]) -> list[str]:
    """The named people in these photos (faces and source tags), in most of them first."""
    by_photo = people_in_photos(library)
    counts = Counter(name for pid in set(photo_ids) for name in by_photo.get(pid, []))
    return [name for name, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def _sources(library: Library, kind: str, what: str, model: str | None, prompt: str | None, photo_ids: list[int], people: list[str]) -> str:
    lines = [f"**{'Instant style (not AI-generated)' if kind == 'instant' else 'AI-generated'}**, {what}"]
    if model:
        lines.append(f"Model: {model}")
    if prompt:
        lines.append(prompt)
    photos = {p.id: p for p in list_photos(library)}
    used = [f"#{pid} {Path(photos[pid].path).name}" for pid in photo_ids if pid in photos]
    lines.append("Photos used: " + (", ".join(used) if used else "none"))
    lines.append("People: " + (", ".join(people) if people else "none"))
    in_photos = named_in_photos(library, photo_ids)
    if in_photos:
        lines.append("In those photos: " + ", ".join(in_photos))
    return "\n\n".join(lines)


def suggestion_texts(library: Library) -> list[str]:
    return [s.text for s in library_suggestions(library)]


def caption(creation: Creation, index: int) -> str:
    v = creation.variants[index]
    parts = [f"seed {v.seed}"]
    if v.likeness:
        parts.append("likeness " + ", ".join(f"{k} {s:.2f}" for k, s in v.likeness.items()))
    parts += v.notes
    return " · ".join(parts)


def sources_markdown(library: Library, creation: Creation) -> str:
    prompt = f"Prompt shown to the model: *{creation.model_prompt}*" if creation.model_prompt else None
    people = [name for _, name in creation.people]
    return _sources(library, creation.kind, f"creation #{creation.id}", creation.model, prompt, creation.source_photo_ids, people)


def build(session: gr.State, studio: Studio) -> TabView:
    ai_available = model_installed(studio.settings)
    with gr.Tab("Create", id="create") as tab:
        banner = gr.Markdown(model_banner(studio.settings), elem_id="create-banner")
        to_models = gr.Button("Open Models", size="sm", visible=not ai_available, elem_id="create-to-models")
        with gr.Row(visible=False) as first_steps:
            gr.Markdown(FIRST_STEPS, elem_id="create-first-steps")
            to_connect = gr.Button("Connect photos", variant="primary", elem_id="create-to-connect")
        prompt = gr.Textbox(label="What shall we make?", placeholder="me and @Anna in Paris, watercolor", lines=2)
        suggestions = gr.Dataset(components=[gr.Textbox(visible=False)], samples=[], label=IDEAS_LABEL)
        with gr.Row():
            with gr.Column():
                chips = gr.Gallery(label="Your people (click a face to add them)", columns=8, height=170, allow_preview=False, object_fit="contain", interactive=False, elem_id="create-people")
                people = gr.CheckboxGroup(label="People", choices=[])
                unnamed = gr.Markdown(elem_id="create-unnamed")
            with gr.Column():
                photos = gr.Dropdown(label="Start from photos", choices=[], multiselect=True, elem_id="create-photos")
                with gr.Accordion("Browse your photos (click one to add it)", open=False):
                    with gr.Row():
                        person_filter = gr.Dropdown(label="Who is in it", choices=[ANYONE], value=ANYONE, elem_id="create-filter-person")
                        album_filter = gr.Dropdown(label="Album", choices=[ALL_ALBUMS], value=ALL_ALBUMS, elem_id="create-filter-album")
                    picker = gr.Gallery(label="Your photos", columns=4, height=300, allow_preview=False, object_fit="contain", interactive=False, elem_id="create-picker")
                    picker_ids = gr.State([])
        with gr.Row():
            template = gr.Dropdown(label="Template", choices=template_choices(), value="", elem_id="create-template")
            style = gr.Dropdown(label="Style", choices=style_choices(ai_available), value=default_style(ai_available), elem_id="create-style")
        go = gr.Button("Generate", variant="primary", size="lg")
        with gr.Accordion("Advanced", open=False):
            with gr.Row():
                mode = gr.Radio(["auto", "instant", "restyle", "background", "text"], value="auto", label="Mode")
                speed = gr.Radio([s["name"] for s in list_speed_presets()], value="balanced", label="Speed")
            with gr.Row():
                seed = gr.Number(value=0, precision=0, label="Seed")
                variants = gr.Slider(1, 8, value=2 if ai_available else 1, step=1, label="Variants")
                best_of = gr.Number(value=None, precision=0, label="Best of N: make N, keep the most alike")
            with gr.Row():
                title = gr.Textbox(label="Card title")
                message = gr.Textbox(label="Card message")
            with gr.Row():
                background = gr.Radio(["keep", "blur", "replace"], value="keep", label="Background (instant styles)")
                formats = gr.CheckboxGroup(["png", "jpeg", "pdf"], value=["png"], label="Files")
        # preview mode: the selected result is shown whole (a tall card or a wide post is never cut to a square tile),
        # the others as small thumbnails under it
        gallery = gr.Gallery(
            label="Results", columns=2, height=560, preview=True, object_fit="contain", interactive=False, elem_id="create-results"
        )
        sources = gr.Markdown()
        files = gr.File(label="Download", file_count="multiple", interactive=False)
        with gr.Row():
            refine = gr.Button("Refine the selected one")
            more = gr.Button("More like this")
            upscale_btn = gr.Button("Upscale for print")
        with gr.Accordion("Past creations", open=False):
            with gr.Row():
                past = gr.Dropdown(label="Made before", choices=[], elem_id="create-past")
                reopen = gr.Button("Open", size="sm")
                forget = gr.Button("Delete", size="sm", variant="stop")
            past_status = gr.Markdown()
        style_chosen = gr.State(False)  # the user picked a style: a refresh keeps it rather than the default
        last = gr.State()  # this session's last request and its variants' seeds, for "more like this" and "refine"
        selected = gr.State(0)

        inputs = [session, prompt, photos, people, style, template, mode, speed, seed, variants, best_of, title, message, background, formats]

        def _run(s: UISession, request: CreateRequest, progress: Any) -> tuple[Any, ...]:
            sess = require(s)
            out = sess.served.folder("creation-")
            creation = studio.create(sess.library, request, out, progress=lambda f, what: progress(f, desc=what))
            # what is shown and offered for download is served from the private per-run folder, recorded
            # with the photos it came from so a revoke deletes it at once
            used = {*creation.source_photo_ids, *(pid for v in creation.variants for pid in v.reference_photo_ids)}
            items = [(sess.served.image(v.image, used, creation.id), caption(creation, i)) for i, v in enumerate(creation.variants)]
            paths = [sess.served.record(p, used, creation.id) for v in creation.variants for p in v.files]
            state = {"request": request, "seeds": [v.seed for v in creation.variants], "creation_id": creation.id, "kind": creation.kind}
            return items, sources_markdown(sess.library, creation), paths, state

        @readable_errors
        def _generate(s: UISession, *values: Any, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            names = ["prompt", "photo_ids", "people", "style", "template", "mode", "speed", "seed", "variants", "best_of", "title", "message", "background", "formats"]
            request = build_request(**dict(zip(names, values, strict=True)), ai_available=model_installed(studio.settings))
            return _run(s, request, progress)

        @readable_errors
        def _more(s: UISession, previous: dict[str, Any] | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            if previous is None or previous.get("request") is None:
                raise PhotogenError("Make something first (a reopened creation can be downloaded or upscaled; make a new one to vary it).")
            return _run(s, more_like_this(previous["request"]), progress)

        @readable_errors
        def _refine(s: UISession, previous: dict[str, Any] | None, index: int, text: str, chosen_style: str | None, progress: gr.Progress = gr.Progress()) -> tuple[Any, ...]:
            if previous is None or previous.get("request") is None:
                raise PhotogenError("Make something first, then select the one to refine.")
            seeds = previous["seeds"]
            seed = seeds[int(index or 0)] if int(index or 0) < len(seeds) else seeds[0]  # the shown variant's own seed
            return _run(s, refine_request(previous["request"], seed, text, chosen_style), progress)

        def _add_person(current: list[str] | None, evt: gr.SelectData) -> list[str]:
            name = evt.value.get("caption") if isinstance(evt.value, dict) else None
            chosen = list(current or [])
            if name and name not in chosen:
                chosen.append(name)
            return chosen

        def _select(evt: gr.SelectData) -> int:
            return int(evt.index if not isinstance(evt.index, (list, tuple)) else evt.index[0])

        @readable_errors
        def _upscale(s: UISession, current: list[Any] | None, previous: dict[str, Any] | None, shown: list[Any] | None, progress: gr.Progress = gr.Progress()) -> list[str]:
            sess = require(s)
            if not current or previous is None:
                raise PhotogenError("Make something first.")
            images, used = [], None
            for item in current:
                source = item[0] if isinstance(item, (list, tuple)) else item
                images.append(source if isinstance(source, Image.Image) else Image.open(getattr(source, "path", source)))
                origin = None if isinstance(source, Image.Image) else sess.served.origin(getattr(source, "path", source))
                if origin is not None and origin.photo_ids is not None:
                    used = set(used or ()) | set(origin.photo_ids)
            out = sess.served.folder("upscaled-")
            creation_id = int(previous["creation_id"])
            made = studio.upscale_creation(sess.library, creation_id, images, out, progress=lambda f, what: progress(f, desc=what))
            paths = [sess.served.record(p, used, creation_id) for p in made]
            kept = [str(getattr(f, "path", f)) for f in (shown or [])]
            return [*kept, *paths]  # the upscaled files join the downloads, they do not replace them

        @readable_errors
        def _filter(s: UISession, person: str | None, album: str | None) -> tuple[Any, Any]:
            lib = require(s).library
            cards, ids = photo_cards(lib, person, album)
            return served.show(lib, cards), ids

        def _toggle_photo(current: list[Any] | None, ids: list[int], evt: gr.SelectData) -> Any:
            index = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
            chosen = list(current or [])
            if index is not None and 0 <= index < len(ids):
                pid = ids[index]
                chosen = [p for p in chosen if p != pid] if pid in chosen else [*chosen, pid]  # a second click takes it out
            return chosen

        @readable_errors
        def _reopen(s: UISession, creation_id: Any) -> tuple[Any, ...]:
            from photogen.create.creations import creation_images, get_creation, save_creation

            sess = require(s)
            if creation_id is None:
                raise PhotogenError("Choose a creation under 'Made before' first.")
            record = get_creation(sess.library, int(creation_id))
            out = sess.served.folder("reopened-")
            paths = [sess.served.record(p, record.photo_ids, record.id) for p in save_creation(sess.library, record.id, out, signer=studio.signer(sess.library))]
            items = [(sess.served.image(im, record.photo_ids, record.id), f"{record.label} · picture {i + 1}") for i, im in enumerate(creation_images(sess.library, record.id))]
            state = {"request": None, "seeds": [], "creation_id": record.id, "kind": record.kind}
            return items, record_markdown(sess.library, record), paths, state, f"Opened creation #{record.id}."

        @readable_errors
        def _forget(s: UISession, creation_id: Any, previous: dict[str, Any] | None) -> tuple[Any, ...]:
            from photogen.create.creations import delete_creation

            lib = require(s).library
            if creation_id is None:
                raise PhotogenError("Choose a creation under 'Made before' first.")
            delete_creation(lib, int(creation_id))
            shown = previous is not None and previous.get("creation_id") == int(creation_id)
            cleared = ([], "", None, None) if shown else (gr.skip(), gr.skip(), gr.skip(), gr.skip())
            return (gr.update(choices=creation_choices(lib), value=None), f"Deleted creation #{int(creation_id)}.", *cleared)

        person_filter.input(_filter, inputs=[session, person_filter, album_filter], outputs=[picker, picker_ids])
        album_filter.input(_filter, inputs=[session, person_filter, album_filter], outputs=[picker, picker_ids])
        picker.select(_toggle_photo, inputs=[photos, picker_ids], outputs=photos)
        forget.click(_forget, inputs=[session, past, last], outputs=[past, past_status, gallery, sources, files, last])
        @readable_errors
        def _past(s: UISession) -> Any:
            return gr.update(choices=creation_choices(require(s).library))

        def _show_first() -> tuple[Any, int]:
            # the first result opens in the gallery's preview, drawn whole (a grid tile would cut a tall card
            # to a square); a separate step, so the API still answers with the plain list of results
            return gr.Gallery(selected_index=0), 0

        reopen.click(_reopen, inputs=[session, past], outputs=[gallery, sources, files, last, past_status]).then(_show_first, outputs=[gallery, selected])
        go.click(_generate, inputs=inputs, outputs=[gallery, sources, files, last]).then(_show_first, outputs=[gallery, selected]).then(_past, inputs=session, outputs=past)
        prompt.submit(_generate, inputs=inputs, outputs=[gallery, sources, files, last]).then(_show_first, outputs=[gallery, selected]).then(_past, inputs=session, outputs=past)
        more.click(_more, inputs=[session, last], outputs=[gallery, sources, files, last]).then(_show_first, outputs=[gallery, selected]).then(_past, inputs=session, outputs=past)
        refine.click(_refine, inputs=[session, last, selected, prompt, style], outputs=[gallery, sources, files, last]).then(_show_first, outputs=[gallery, selected]).then(_past, inputs=session, outputs=past)
        gallery.select(_select, inputs=None, outputs=selected)
        chips.select(_add_person, inputs=people, outputs=people)
        upscale_btn.click(_upscale, inputs=[session, gallery, last, files], outputs=files)
        suggestions.click(lambda sample: sample[0], inputs=suggestions, outputs=prompt)
        style.input(lambda: True, outputs=style_chosen)

    @readable_errors
    def _on_load(
        s: UISession,
        chosen_people: list[str] | None,
        chosen_photos: list[Any] | None,
        chosen_style: str | None,
        style_chosen: bool,
        previous: dict[str, Any] | None,
        person: str | None = None,
        album: str | None = None,
    ) -> tuple[Any, ...]:
        """Everything the tab shows, from the library as it is now: a revoke, an index or a model
        installed in another tab is in view here when the user comes back, and a shown result made
        from photos that are gone is cleared."""
        lib = require(s).library
        ai = model_installed(studio.settings)
        names = people_choices(lib)
        photo_list = photo_choices(lib)
        styles = style_choices(ai)
        style_values = [v for _, v in styles]
        keep_style = chosen_style if style_chosen and chosen_style in style_values else default_style(ai)
        ideas = suggestion_texts(lib) if ai else []
        gone = previous is not None and (previous.get("creation_id") is None or not creations_store.creation_exists(lib, int(previous["creation_id"])))
        cleared = ([], "", None, None) if gone else (gr.skip(), gr.skip(), gr.skip(), gr.skip())
        who, where = picker_filters(lib)
        cards, card_ids = photo_cards(lib, person if person in who else None, album if album in where else None)
        return (
            model_banner(studio.settings),
            gr.update(visible=not photo_list),
            served.show(lib, people_chips(lib)),
            gr.update(choices=names, value=[n for n in (chosen_people or []) if n in {v for _, v in names}]),
            gr.update(choices=photo_list, value=[p for p in (chosen_photos or []) if p in {v for _, v in photo_list}]),
            gr.update(choices=styles, value=keep_style),
            gr.update(samples=[[t] for t in ideas], label=IDEAS_LABEL if ai else IDEAS_NEED_MODEL),
            *cleared,
            gr.update(visible=not ai),
            unnamed_people_note(lib),
            gr.update(choices=who, value=person if person in who else ANYONE),
            gr.update(choices=where, value=album if album in where else ALL_ALBUMS),
            served.show(lib, cards),
            card_ids,
            gr.update(choices=creation_choices(lib), value=None),
        )

    return TabView(
        tab,
        _on_load,
        [banner, first_steps, chips, people, photos, style, suggestions, gallery, sources, files, last, to_models, unnamed, person_filter, album_filter, picker, picker_ids, past],
        [people, photos, style, style_chosen, last, person_filter, album_filter],
        links=[(to_connect, "connect"), (to_models, "models")],
    )
