"""Start the photogen app (also the Hugging Face Space entry point)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from photogen.errors import PhotogenError
from photogen.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="photogen: your photos, your people, on your machine.")
    parser.add_argument("--home", type=Path, help="data directory (default: PHOTOGEN_HOME or your user data folder)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument(
        "--share",
        action="store_true",
        help="temporary public link for guests, password protected: PHOTOGEN_SHARE_PASSWORD, else a prompt, else a generated one "
        "(never an argument: the process list would show it)",
    )
    args = parser.parse_args(argv)

    from photogen.ui.app import launch

    settings = Settings(home=args.home.expanduser()) if args.home else Settings()
    try:
        launch(settings, port=args.port, share=args.share)
    except PhotogenError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
