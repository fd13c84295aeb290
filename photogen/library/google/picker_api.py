"""A client for the Google Photos Picker API (reference/google-photos-picker.md).

Every call carries the bearer token; a 401 renews it once; 429 and 5xx are retried with bounded
exponential backoff (honouring Retry-After); anything else becomes a `PickerApiError` whose
message says what to do.
"""

from __future__ import annotations

import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import requests
from google.oauth2.credentials import Credentials

from photogen.errors import PhotogenError
from photogen.library.google.oauth import refresh
from photogen.library.google.settings import GoogleSettings

log = logging.getLogger(__name__)

RETRY_STATUSES = {429, 500, 502, 503, 504}


class PickerApiError(PhotogenError):
    def __init__(self, message: str, http_status: int = 0, status: str = "") -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status = status


def parse_duration(value: Any, default: float | None) -> float | None:
    """A protobuf Duration ("5s", "1799.5s") in seconds."""
    if isinstance(value, str) and (match := re.fullmatch(r"\s*(-?\d+(?:\.\d+)?)s\s*", value)):
        return float(match.group(1))
    return default


def _google_error(resp: requests.Response) -> tuple[str, str]:
    try:
        body = resp.json()
    except ValueError:
        return "", resp.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("status", "")), str(error.get("message", ""))
    return "", str(error or "")[:200]


class PickerClient:
    def __init__(
        self,
        credentials: Credentials,
        settings: GoogleSettings,
        *,
        on_refresh: Callable[[Credentials], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.credentials = credentials
        self.settings = settings
        self._on_refresh = on_refresh
        self._sleep = sleep
        self._http = requests.Session()
        self._api = settings.picker_api.rstrip("/")

    def close(self) -> None:
        self._http.close()

    def _renew(self) -> None:
        refresh(self.credentials, self.settings)
        if self._on_refresh is not None:
            self._on_refresh(self.credentials)  # keep the new token, so the next run need not refresh

    def _token(self) -> str:
        if not self.credentials.valid:
            self._renew()
        return str(self.credentials.token)

    def _backoff(self, attempt: int, resp: requests.Response | None) -> None:
        delay = min(self.settings.backoff_max_s, self.settings.backoff_s * 2**attempt)
        if resp is not None and (after := resp.headers.get("Retry-After", "")).isdigit():
            delay = min(self.settings.backoff_max_s, float(after))
        # jitter: many clients backing off together should not come back together
        self._sleep(delay * random.uniform(0.5, 1.0))

    def _send(self, method: str, url: str, *, what: str, **kwargs: Any) -> requests.Response:
        renewed = False
        resp: requests.Response | None = None
        failure: Exception | None = None
        for attempt in range(max(1, self.settings.max_attempts)):
            headers = {"Authorization": f"Bearer {self._token()}"}
            try:
                resp = self._http.request(method, url, headers=headers, timeout=self.settings.http_timeout_s, **kwargs)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure, resp = exc, None
                log.info("%s: %s (try %d)", what, exc, attempt + 1)
                self._backoff(attempt, None)
                continue
            if resp.status_code == 401 and not renewed:
                renewed = True
                resp.close()
                self._renew()
                continue
            if resp.status_code in RETRY_STATUSES:
                log.info("%s: Google answered %d (try %d)", what, resp.status_code, attempt + 1)
                if attempt + 1 < self.settings.max_attempts:
                    resp.close()
                    self._backoff(attempt, resp)
                continue
            return resp
        if resp is None:
            host = re.sub(r"^https?://([^/]+).*$", r"\1", url)
            raise PhotogenError(
                f"Cannot reach Google ({host}) to {what}: {failure}. Check the connection and run the command "
                "again; it resumes where it stopped."
            )
        return resp

    def _json(self, resp: requests.Response, what: str) -> dict[str, Any]:
        if resp.status_code == 200:
            try:
                body = resp.json()
            except ValueError as exc:
                raise PickerApiError(f"Google sent an unreadable answer to {what}; try again later.", 200) from exc
            return body if isinstance(body, dict) else {}
        status, message = _google_error(resp)
        raise self._error(resp.status_code, status, message, what)

    def _error(self, http: int, status: str, message: str, what: str) -> PickerApiError:
        if http == 401:
            text = "Google no longer accepts photogen's access; reconnect with --client-file YOUR_CLIENT_FILE.json."
        elif http == 429:
            text = f"Google says too many requests ({message or status}) to {what}; wait a few minutes and run the command again."
        elif http >= 500:
            text = f"Google's servers failed to {what} (HTTP {http}) after {self.settings.max_attempts} tries; try again later."
        elif http == 403:
            text = (
                f"Google refused to {what} ({message or status}). Check that the Photos Picker API is enabled in "
                "your Google Cloud project, then reconnect with --client-file."
            )
        else:
            text = f"Google could not {what}: {message or status or http}."
        return PickerApiError(text, http, status)

    # ---- sessions ---------------------------------------------------------------------------

    def create_session(self, max_items: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if max_items:
            body["pickingConfig"] = {"maxItemCount": str(max_items)}  # int64 travels as a string
        resp = self._send(
            "POST", f"{self._api}/v1/sessions", what="start a picking session", params={"requestId": str(uuid.uuid4())}, json=body
        )
        if resp.status_code == 400:
            status, message = _google_error(resp)
            if status == "FAILED_PRECONDITION":
                raise PickerApiError(
                    f"This Google account has no Google Photos library to pick from ({message}).", 400, status
                )
        return self._json(resp, "start a picking session")

    def get_session(self, session_id: str) -> dict[str, Any]:
        resp = self._send("GET", f"{self._api}/v1/sessions/{session_id}", what="check the picking session")
        if resp.status_code in (403, 404):
            status, _message = _google_error(resp)
            raise PickerApiError(
                "The picking session has expired or is gone; run the command again to pick.", resp.status_code, status
            )
        return self._json(resp, "check the picking session")

    def delete_session(self, session_id: str) -> bool:
        """Delete a session so it does not count against the user's open sessions; gone already is fine."""
        resp = self._send("DELETE", f"{self._api}/v1/sessions/{session_id}", what="close the picking session")
        if resp.status_code in (403, 404):
            return False
        self._json(resp, "close the picking session")
        return True

    def list_items(self, session_id: str) -> Iterator[dict[str, Any]]:
        """Every picked item, page by page, until Google sends no next page token."""
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            params: dict[str, Any] = {"sessionId": session_id, "pageSize": self.settings.page_size}
            if token:
                params["pageToken"] = token
            resp = self._send("GET", f"{self._api}/v1/mediaItems", what="list the picked photos", params=params)
            if resp.status_code == 400 and _google_error(resp)[0] == "FAILED_PRECONDITION":
                raise PickerApiError("Google says the photos are not picked yet; run the command again.", 400, "FAILED_PRECONDITION")
            if resp.status_code in (403, 404):
                raise PickerApiError("The picking session has expired; run the command again to pick.", resp.status_code)
            page = self._json(resp, "list the picked photos")
            items = page.get("mediaItems") or []  # an empty page may omit the list entirely
            yield from (i for i in items if isinstance(i, dict))
            token = page.get("nextPageToken") or None
            if token is None:
                return
            if token in seen_tokens:  # a repeating token would loop forever
                raise PickerApiError("Google repeated a page of picked photos; try again later.")
            seen_tokens.add(token)

    # ---- bytes ------------------------------------------------------------------------------

    def download(self, base_url: str, suffix: str) -> bytes:
        """The bytes behind a baseUrl: all of them or an error; never a truncated file."""
        limit = self.settings.max_download_bytes
        failure: Exception | None = None
        for attempt in range(max(1, self.settings.max_attempts)):
            resp = self._send("GET", base_url + suffix, what="download a picked photo", stream=True)
            with resp:
                if resp.status_code == 403:
                    raise PickerApiError(
                        "A download link from Google expired (they last 60 minutes); run the command again to resume.", 403
                    )
                if resp.status_code != 200:
                    self._json(resp, "download a picked photo")
                expected = resp.headers.get("Content-Length")
                if expected is not None and expected.isdigit() and int(expected) > limit:
                    raise PickerApiError(f"A picked file is larger than {limit // (1024 * 1024)} MB; photogen does not import it.")
                chunks: list[bytes] = []
                received = 0
                try:
                    for chunk in resp.iter_content(chunk_size=1024 * 1024):
                        received += len(chunk)
                        if received > limit:
                            raise PickerApiError(f"A picked file is larger than {limit // (1024 * 1024)} MB; photogen does not import it.")
                        chunks.append(chunk)
                except (requests.RequestException, OSError) as exc:
                    failure = exc
                    log.info("download interrupted after %d bytes (try %d): %s", received, attempt + 1, exc)
                    self._backoff(attempt, None)
                    continue
                if expected is not None and expected.isdigit() and received != int(expected):
                    failure = OSError(f"got {received} of {expected} bytes")
                    self._backoff(attempt, None)
                    continue
                if received == 0:
                    raise PickerApiError("Google sent an empty file for a picked photo; try again later.")
                return b"".join(chunks)
        raise PhotogenError(
            f"Downloading a picked photo kept failing ({failure}); nothing partial was kept. Run the command again to resume."
        )
