"""Keeping every tab in step with the library, with no reload.

Each tab's `build()` returns a `TabView`: the `gr.Tab` it made, a `refresh(session)` that recomputes
everything the tab shows from the library, and the components that refresh writes. `wire()` runs
every refresh after the page loads and a tab's own refresh each time the user switches to it, so a
revoke in Privacy, an index in Connect or a model installed in Models is in view in Create and
People the moment the user looks there. A tab's own actions refresh what they change in that tab.

Hooking a new tab in (e.g. Models): build it inside `with gr.Tab("Models") as tab:`, write
`refresh(session, *inputs) -> tuple` wrapped in `readable_errors`, return `TabView(tab, refresh, outputs, inputs)`
and add the call to the list in `photogen.ui.app.build_app`. A handler whose change another
component *in the same tab* must show chains `.then(refresh, inputs=[session, *inputs], outputs=outputs)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gradio as gr


@dataclass
class TabView:
    tab: Any  # the gr.Tab (None for a view that is not a tab: refreshed on every tab switch)
    refresh: Callable[..., Any]
    outputs: list[Any] = field(default_factory=list)
    inputs: list[Any] = field(default_factory=list)  # what refresh takes after the session (e.g. the current selection)
    links: list[tuple[Any, str]] = field(default_factory=list)  # (button, tab id): the button opens that tab
    # (component, photogen.ui.access.Capability): shown only to whoever may use it (the server refuses the call too)
    needs: list[tuple[Any, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, hook: TabView | tuple[Callable[..., Any], list[Any]]) -> TabView:
        """A TabView, or an older `(refresh, outputs)` pair (refreshed on load and on every tab switch)."""
        return hook if isinstance(hook, TabView) else cls(None, hook[0], list(hook[1]))


def wire(demo: gr.Blocks, tabs: gr.Tabs, session: gr.State, open_session: Callable[..., Any], hooks: Sequence[Any]) -> list[TabView]:
    """Open the session on page load, then fill every tab; refresh each tab when it is selected or opened by a link."""
    views = [TabView.of(h) for h in hooks]
    loaded = demo.load(open_session, outputs=session)
    for view in views:
        loaded = loaded.then(view.refresh, inputs=[session, *view.inputs], outputs=view.outputs)
    every_tab = [v.tab for v in views if v.tab is not None]
    for view in views:
        # a view without a tab of its own cannot know when it is looked at: refresh it on every switch
        for tab in [view.tab] if view.tab is not None else every_tab:
            tab.select(view.refresh, inputs=[session, *view.inputs], outputs=view.outputs, show_progress="hidden")
    by_id = {v.tab.id: v for v in views if v.tab is not None}
    for view in views:
        for button, tab_id in view.links:
            event = button.click(lambda tab_id=tab_id: gr.Tabs(selected=tab_id), outputs=tabs)
            if tab_id in by_id:  # a programmatic switch fires no select event: refresh the tab here
                target = by_id[tab_id]
                event.then(target.refresh, inputs=[session, *target.inputs], outputs=target.outputs)
    return views
