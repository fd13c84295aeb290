"""Who a browser session works with: the user's library, or (in a Space) a private throwaway one.

Per-visitor state lives in `gr.State`, never in module globals. Locally every session of the one
user shares the user's library and the run's served-files folder. In a Hugging Face Space each
visitor gets a fresh data directory inside the run's private served-files folder (RAM-backed
`/dev/shm` where the OS has one with room, see `photogen.ui.served`), encrypted with a random key
that exists only in this process's memory, and their own served-files sub-folder. Both are deleted
when the visitor leaves: on Gradio's `unload` (the browser tab's heartbeat stops, seconds after it
closes), with `gr.State`'s delete callback as the fallback.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from pydantic import SecretStr

from photogen.library.library import Library, open_library
from photogen.settings import Settings
from photogen.ui.access import Role, role_of
from photogen.ui.served import ServedFiles

log = logging.getLogger(__name__)


@dataclass
class UISession:
    library: Library
    served: ServedFiles
    private_home: Path | None = None  # set in Space mode: deleted with the session
    role: Role = Role.OWNER  # who opened it (each sensitive call checks its own request again)
    closed: bool = False

    @property
    def is_space(self) -> bool:
        return self.private_home is not None

    def close(self) -> None:
        if self.private_home is None or self.closed:
            return
        self.closed = True
        self.library.close()
        self.served.close()
        shutil.rmtree(self.private_home, ignore_errors=True)
        # drop the visitor's keys and catalog handle now, not when Gradio forgets the state (an hour later)
        self.library = None  # type: ignore[assignment]
        log.info("closed a private session and deleted its data")


class SessionFactory:
    def __init__(self, settings: Settings, shared: Library | None = None, served: ServedFiles | None = None) -> None:
        self.settings = settings
        self.shared = shared
        self._served = served
        # the app's open Space sessions by Gradio session hash, so `unload` can close them (app-lifetime, not module)
        self._visitors: dict[str, UISession] = {}
        self._lock = threading.Lock()

    @property
    def space_mode(self) -> bool:
        return self.settings.space_mode

    @property
    def served(self) -> ServedFiles:
        if self._served is None:
            from gradio.utils import get_upload_folder

            # built without `launch` (tests, embedding): serve from Gradio's cache folder as it is set
            self._served = ServedFiles(Path(get_upload_folder()))
        return self._served

    def open(self, request: gr.Request = None) -> UISession:  # type: ignore[assignment]
        role = role_of(request, space_mode=self.space_mode)
        if not self.space_mode:
            if self.shared is None:
                self.shared = open_library(self.settings)
            self.served.watch(self.shared)
            return UISession(library=self.shared, served=self.served, role=role)
        token = secrets.token_hex(8)
        served = self.served.child(token)
        home = served.root / "library"
        # a random passphrase held only by this process: nothing a visitor uploads outlives the session
        visitor = self.settings.model_copy(
            update={
                "home": home,
                "passphrase": SecretStr(secrets.token_urlsafe(32)),
                "use_keyring": False,
                # the passphrase is 256 random bits: a costly KDF would protect nothing more
                "kdf_memory_kib": 8192,
                "kdf_iterations": 1,
            }
        )
        library = open_library(visitor)
        served.watch(library)
        session = UISession(library=library, served=served, private_home=served.root, role=role)
        key = getattr(request, "session_hash", None)
        if key:
            with self._lock:
                previous = self._visitors.pop(key, None)
                self._visitors[key] = session
            if previous is not None:
                previous.close()
        return session

    def leave(self, request: gr.Request = None) -> None:  # type: ignore[assignment]
        """The browser tab is gone (Gradio's `unload`): delete that visitor's session now."""
        key = getattr(request, "session_hash", None)
        with self._lock:
            session = self._visitors.pop(key, None) if key else None
        if session is not None:
            session.close()

    def close_all(self) -> None:
        with self._lock:
            sessions, self._visitors = list(self._visitors.values()), {}
        for session in sessions:
            session.close()

    @property
    def open_visitors(self) -> int:
        with self._lock:
            return len(self._visitors)


def close_session(session: UISession | None) -> None:
    if session is not None:
        session.close()
