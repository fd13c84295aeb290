"""`photogen`: everything the app does, headless, with `--json` output for scripts.

Errors a user can cause print one clear line and exit 1; nothing prints a traceback.

Where each command lives:
- `app.py`: the `photogen` command itself, its `--home` and `--verbose`, and the order of the commands
- `output.py`: how every command answers (`--json` or text, progress bars, errors and exit codes)
- `session.py`: the settings and the open library a command works on
- `sources.py`: `sources add-folder | add-takeout | add-google-picker | list | revoke`
- `albums.py`: `albums list | allow | revoke`
- `photos.py`: `photos list | exclude`
- `index.py`: `index` (the albums, then the faces in the new photos)
- `people.py`: `people list | name | me | merge | undo | split | suggestions | not-same | hide | recluster | references`
- `faces.py`: `faces list | move | reference`
- `models.py`: `models list | info | download | import | export | delete | create-tiny | import-adapter`
- `generate.py`: `generate`
- `templates.py`: `templates list`
- `creations.py`: `creations list | show | delete`, and `verify`
- `privacy.py`: `privacy report | delete-all`
- `serve.py`: `serve` and `doctor`
"""

from photogen.cli.app import app, main

__all__ = ["app", "main"]
