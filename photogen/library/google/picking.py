"""A Picker session from photogen's side: waiting while the user picks, naming and dating what they
picked, and letting a session go. Google's libraries are imported only when a session is used."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from photogen.errors import PhotogenError

if TYPE_CHECKING:
    from photogen.library.google.picker_api import PickerClient
    from photogen.library.google.settings import GoogleSettings

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/heic": ".heic", "image/heif": ".heif", "image/webp": ".webp",
               "image/gif": ".gif", "image/tiff": ".tif"}


def wait_for_pick(
    client: PickerClient,
    session: dict[str, Any],
    settings: GoogleSettings,
    sleep: Callable[[float], None],
    clock: Callable[[], float],
) -> None:
    """Poll as the session's pollingConfig says, until the user is done or the session gives up."""
    from photogen.library.google.picker_api import parse_duration

    give_up_at = clock() + settings.max_wait_s
    while not session.get("mediaItemsSet"):
        polling = session.get("pollingConfig") or {}
        interval = parse_duration(polling.get("pollInterval"), 5.0) or 0.0
        timeout_in = parse_duration(polling.get("timeoutIn"), None)
        if timeout_in is not None:
            give_up_at = min(give_up_at, clock() + timeout_in)
        if (timeout_in is not None and timeout_in <= 0) or clock() >= give_up_at:
            raise PickTimedOut(
                "No photos were picked before the picking session ran out; run the command again and pick within "
                f"{int(settings.max_wait_s // 60) or 1} minutes."
            )
        sleep(max(0.0, min(interval, 60.0, give_up_at - clock())))
        session = client.get_session(session["id"])


class PickTimedOut(PhotogenError):
    """The user never finished picking."""


def item_file_name(item: dict[str, Any]) -> str:
    media = item.get("mediaFile") or {}
    filename = str(media.get("filename") or "photo")
    stem, dot, ext = filename.rpartition(".")
    if not dot:
        stem, ext = filename, _EXTENSIONS.get(str(media.get("mimeType")), ".jpg").lstrip(".")
    # the media id keeps two picks of one file name apart; names stay readable for listings
    return f"{_SAFE.sub('_', str(item['id']))[:80]}-{_SAFE.sub('_', stem)[:80]}.{_SAFE.sub('', ext)[:8] or 'jpg'}"


def rfc3339(value: Any) -> str | None:
    """A Google timestamp ("2014-10-02T15:01:23.045123456Z") as ISO 8601 Python reads, or None."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", value.strip())
    if match is None:
        return None
    fraction = f".{match.group(2)[:6]}" if match.group(2) else ""  # Python keeps microseconds, Google sends up to nanoseconds
    zone = "+00:00" if match.group(3) == "Z" else match.group(3)
    try:
        return datetime.fromisoformat(match.group(1) + fraction + zone).isoformat()
    except ValueError:
        return None


def forget_session(client: PickerClient, pending: dict[str, Any]) -> None:
    """Delete a session at Google, best effort: an undeleted one only counts against a limit until it expires."""
    try:
        client.delete_session(str(pending["session_id"]))
    except PhotogenError as exc:
        log.info("could not delete picking session: %s", exc)
