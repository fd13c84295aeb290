"""Who a browser session works with: the user's library, or (in a Space) a private throwaway one.

Per-visitor state lives in `gr.State`, never in module globals. Locally every session of the one
user shares the user's library. In a Hugging Face Space each visitor gets a fresh data directory
under a private temp folder, encrypted with a random key that exists only in memory, deleted when
the visitor leaves.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr

from photogen.library.library import Library, open_library
from photogen.settings import Settings

log = logging.getLogger(__name__)


@dataclass
class UISession:
    library: Library
    private_home: Path | None = None  # set in Space mode: deleted with the session

    @property
    def is_space(self) -> bool:
        return self.private_home is not None

    def close(self) -> None:
        if self.private_home is not None:
            self.library.close()
            shutil.rmtree(self.private_home, ignore_errors=True)
            log.info("closed a private session and deleted its data")


class SessionFactory:
    def __init__(self, settings: Settings, shared: Library | None = None) -> None:
        self.settings = settings
        self.shared = shared

    @property
    def space_mode(self) -> bool:
        return self.settings.space_mode

    def open(self) -> UISession:
        if not self.space_mode:
            if self.shared is None:
                self.shared = open_library(self.settings)
            return UISession(library=self.shared)
        home = Path(tempfile.mkdtemp(prefix="photogen-visitor-"))
        # a random passphrase held only by this process: nothing a visitor uploads outlives the session
        visitor = self.settings.model_copy(
            update={
                "home": home / "data",
                "passphrase": SecretStr(secrets.token_urlsafe(32)),
                "use_keyring": False,
                "kdf_memory_kib": 8192,
                "kdf_iterations": 1,
            }
        )
        return UISession(library=open_library(visitor), private_home=home)


def close_session(session: UISession | None) -> None:
    if session is not None:
        session.close()
