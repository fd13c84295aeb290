"""What a command runs against: the settings (with `--home` over the environment's) and the open library."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from photogen.settings import Settings

if TYPE_CHECKING:
    from photogen.library.library import Library

T = TypeVar("T")


@dataclass(frozen=True)
class GlobalOptions:
    """The options given before the command (`photogen --home DIR ...`); kept as the context's `obj`."""

    home: Path | None = None


def settings(ctx: typer.Context) -> Settings:
    options = ctx.find_root().obj
    overrides: dict[str, Any] = {}
    if isinstance(options, GlobalOptions) and options.home is not None:
        overrides["home"] = options.home.expanduser().resolve()
    return Settings(**overrides)


@contextmanager
def library(ctx: typer.Context) -> Iterator[Library]:
    from photogen.library.library import open_library

    lib = open_library(settings(ctx), create=True)
    try:
        yield lib
    finally:
        lib.close()


def in_library(ctx: typer.Context, action: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`action(library, ...)` on the library, opened for it and closed after."""
    with library(ctx) as lib:
        return action(lib, *args, **kwargs)
