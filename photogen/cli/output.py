"""How every command answers: `--json` or lines of text, progress bars on a terminal, errors as one line and an exit code."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer

from photogen.errors import PhotogenError

JsonOpt = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def emit(data: Any, as_json: bool, lines: list[str] | None = None) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))
    else:
        for line in lines or []:
            typer.echo(line)


def terminal_bar(as_json: bool = False, **tqdm_options: Any) -> Any:
    """A tqdm bar on stderr, or None when stderr is no terminal or the output is JSON."""
    if as_json or not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    return tqdm(**tqdm_options)


def count_progress(bar: Any) -> Callable[[int, int, str], None]:
    """A `progress(done, total, what)` callback that moves `bar` (None: shows nothing)."""

    def progress(done: int, total: int, _what: str) -> None:
        if bar is not None:
            bar.total = total
            bar.n = done
            bar.refresh()

    return progress


def stage_bars() -> Callable[[str, int, int], None]:
    """A `progress(stage, done, total)` callback with one bar per stage, on a terminal only."""
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        bar = bars.get(stage) or bars.setdefault(stage, tqdm(total=total, desc=stage, leave=False))
        bar.total, bar.n = total, done
        bar.refresh()

    return progress


def run(app: typer.Typer) -> NoReturn:
    """Run the app; what a user can cause ends as one line on stderr and an exit code, never a traceback."""
    import click

    try:
        rc = app(standalone_mode=False, prog_name="photogen")
    except PhotogenError as exc:
        typer.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except (KeyboardInterrupt, click.Abort, typer.Abort):
        typer.echo("interrupted; everything done so far is saved.", err=True)
        sys.exit(130)
    except (click.ClickException, typer.TyperException) as exc:
        # usage errors (typer ships its own click: its exceptions derive from TyperException) print the
        # usage, the error and click's "Did you mean ...?" for the closest command or option
        show = getattr(exc, "show", None)
        if show is None:
            raise
        show()
        sys.exit(getattr(exc, "exit_code", 2))
    except (click.exceptions.Exit, typer.Exit) as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a bug must still not greet the user with a traceback
        logging.getLogger("photogen").debug("unexpected error", exc_info=True)
        typer.echo(f"error: unexpected {type(exc).__name__}: {exc}. Re-run with --verbose and report it.", err=True)
        if logging.getLogger().isEnabledFor(logging.INFO):
            raise
        sys.exit(2)
    sys.exit(rc if isinstance(rc, int) else 0)
