"""OAuth for an installed app: the user's own client file, a loopback redirect, tokens in the catalog.

Tokens live in the catalog's `tokens` table, so they are encrypted at rest with everything else.
The only scope asked for is the Picker's read-only one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from google.auth.exceptions import RefreshError, TransportError
from google.auth.transport.requests import Request
from google.oauth2.credentials import Credentials

from photogen.errors import PhotogenError
from photogen.library.google.settings import PICKER_SCOPE, GoogleSettings

if TYPE_CHECKING:
    from photogen.library.catalog import Catalog

log = logging.getLogger(__name__)

SCOPES = [PICKER_SCOPE]
HELP = "see docs/google-photos.md"

# (client file, settings) -> credentials; tests replace the browser step with a fake
Authorizer = Callable[[Path, GoogleSettings], Credentials]


def load_client_config(path: Path) -> dict:
    """The OAuth client file a user downloaded from Google Cloud, checked before any network call."""
    path = Path(path).expanduser()
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PhotogenError(f"No OAuth client file at {path} ({HELP}).") from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PhotogenError(f"{path} is not an OAuth client file (not JSON). Download it again from Google Cloud ({HELP}).") from exc
    if not isinstance(config, dict) or not isinstance(config.get("installed"), dict):
        kind = "a web app's" if isinstance(config, dict) and "web" in config else "not a Desktop app's"
        raise PhotogenError(f"{path} is {kind} OAuth client file; create one of type 'Desktop app' ({HELP}).")
    missing = [k for k in ("client_id", "client_secret", "auth_uri", "token_uri") if not config["installed"].get(k)]
    if missing:
        raise PhotogenError(f"{path} lacks {', '.join(missing)}; download the client file again ({HELP}).")
    return config


def run_installed_app_flow(client_file: Path, settings: GoogleSettings) -> Credentials:
    """Ask the user, in their browser, to let photogen read the photos they pick."""
    from google_auth_oauthlib.flow import InstalledAppFlow, WSGITimeoutError
    from oauthlib.oauth2.rfc6749.errors import OAuth2Error

    flow = InstalledAppFlow.from_client_config(load_client_config(client_file), scopes=SCOPES)
    try:
        # the flow prints its prompt; stdout belongs to --json output, so the prompt goes to stderr
        with contextlib.redirect_stdout(sys.stderr):
            # 127.0.0.1, not "localhost": the redirect never leaves this machine whatever the resolver says
            return flow.run_local_server(
                host="127.0.0.1",
                port=0,
                open_browser=True,
                timeout_seconds=settings.oauth_timeout_s,
                authorization_prompt_message="Sign in to Google in your browser to let photogen read the photos you pick: {url}",
                success_message="photogen may now read the photos you pick. You can close this window.",
                prompt="consent",  # so Google returns a refresh token even on a reconnect
            )
    except WSGITimeoutError as exc:
        raise PhotogenError("Google sign-in was not completed in time; run the command again.") from exc
    except OAuth2Error as exc:
        raise PhotogenError(f"Google sign-in failed ({exc.error}); run the command again.") from exc
    except (requests.RequestException, OSError) as exc:
        raise PhotogenError(f"Google sign-in could not finish ({exc}); check the connection and try again.") from exc


def save_token(cat: Catalog, source_id: int, creds: Credentials) -> None:
    from photogen.library.catalog import utc_now

    cat.execute(
        "INSERT OR REPLACE INTO tokens (source_id, data, updated_at) VALUES (?, ?, ?)",
        (source_id, creds.to_json(), utc_now()),
    )


def load_token(cat: Catalog, source_id: int, settings: GoogleSettings) -> Credentials | None:
    row = cat.one("SELECT data FROM tokens WHERE source_id = ?", (source_id,))
    if row is None:
        return None
    info = json.loads(row["data"])
    expiry = None
    if info.get("expiry"):
        # google-auth keeps expiry as naive UTC
        expiry = datetime.strptime(info["expiry"].rstrip("Z").split(".")[0], "%Y-%m-%dT%H:%M:%S")
    # built by hand, not from_authorized_user_info: that one forces Google's token_uri, and the
    # settings decide where refreshes go
    return Credentials(
        token=info.get("token"),
        refresh_token=info.get("refresh_token"),
        token_uri=settings.token_uri,
        client_id=info.get("client_id"),
        client_secret=info.get("client_secret"),
        scopes=info.get("scopes") or SCOPES,
        expiry=expiry,
    )


def refresh(creds: Credentials, settings: GoogleSettings) -> None:
    """Get a new access token; a revoked or expired grant becomes a PhotogenError saying how to reconnect."""
    if not creds.refresh_token:
        raise ReconnectNeeded("Google did not give photogen a lasting grant")
    http = requests.Session()
    try:
        creds.refresh(Request(session=http))
    except RefreshError as exc:
        raise ReconnectNeeded(f"Google says: {exc.args[0] if exc.args else exc}") from exc
    except TransportError as exc:
        raise PhotogenError(f"Cannot reach Google to renew access ({exc}); check the connection and run the command again.") from exc
    finally:
        http.close()


class ReconnectNeeded(PhotogenError):
    """The stored grant no longer works: the user must sign in again."""

    def __init__(self, why: str) -> None:
        super().__init__(
            f"photogen's access to Google Photos has expired or was revoked ({why}). Reconnect: run the same "
            "command with --client-file YOUR_CLIENT_FILE.json."
        )


def revoke(creds: Credentials, settings: GoogleSettings) -> bool:
    """Revoke the grant at Google (the refresh token, which takes the access token with it)."""
    token = creds.refresh_token or creds.token
    if not token:
        return True
    try:
        resp = requests.post(
            settings.revoke_uri,
            params={"token": token},
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=settings.http_timeout_s,
        )
    except requests.RequestException as exc:
        log.warning(
            "Could not reach Google to revoke photogen's access (%s). Remove it yourself at "
            "https://myaccount.google.com/connections",
            exc,
        )
        return False
    if resp.status_code == 200:
        return True
    if resp.status_code == 400:
        log.info("Google says the token was already invalid: %s", resp.text[:200])
        return True  # already revoked or expired: nothing left to revoke
    log.warning("Google answered %s when revoking access; check https://myaccount.google.com/connections", resp.status_code)
    return False
