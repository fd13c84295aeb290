"""The data key: where it comes from and how it is checked.

A data directory has one random-free master key. It lives either in the OS keyring (when a real
one exists) or is derived from the user's passphrase with Argon2id, a memory-hard KDF. Beside the
data there is only `key.json`: the KDF salt and cost, and an AES-GCM "check" blob that lets us
tell a wrong passphrase from a right one before anything is opened. The key itself is never
written to disk.
"""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import logging
import os
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from photogen.errors import PhotogenError
from photogen.settings import Settings

log = logging.getLogger(__name__)

KEYRING_SERVICE = "photogen"
_CHECK_PLAINTEXT = b"photogen key check v1"
_KEYINFO_VERSION = 1


@dataclass(frozen=True)
class DataKeys:
    """Subkeys derived from the master key, one per use, so no key does two jobs."""

    catalog: bytes  # SQLCipher raw key
    files: bytes  # AES-GCM key for blobs
    names: bytes  # HMAC key that turns logical names into file names that reveal nothing

    @classmethod
    def from_master(cls, master: bytes) -> DataKeys:
        def sub(label: bytes) -> bytes:
            return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"photogen/" + label).derive(master)

        return cls(catalog=sub(b"catalog"), files=sub(b"files"), names=sub(b"names"))

    def blob_name(self, logical: str) -> str:
        return hmac.new(self.names, logical.encode(), hashlib.sha256).hexdigest()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text.encode())


# The platform keyrings that keep secrets encrypted by the OS: macOS Keychain, Windows Credential
# Locker, the Secret Service (GNOME Keyring, KeePassXC) and KWallet. Anything else (keyrings.alt's
# plaintext and "encrypted" file backends, null, fail, third-party backends) is not the OS keyring.
REAL_KEYRINGS = (
    ("keyring.backends.macOS", "Keyring"),
    ("keyring.backends.Windows", "WinVaultKeyring"),
    ("keyring.backends.SecretService", "Keyring"),
    ("keyring.backends.libsecret", "Keyring"),
    ("keyring.backends.kwallet", "DBusKeyring"),
    ("keyring.backends.kwallet", "DBusKeyringKWallet4"),
)
# Argon2id cost a passphrase-derived key may not go below when lowered from the environment
# (OWASP's minimum for Argon2id: 19 MiB of memory and 2 passes)
KDF_MIN_MEMORY_KIB = 19 * 1024
KDF_MIN_ITERATIONS = 2


def _real_classes() -> tuple[type, ...]:
    import importlib

    found = []
    for module, name in REAL_KEYRINGS:
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):  # a platform's module may not import elsewhere
            continue
    return tuple(found)


def keyring_status() -> tuple[object | None, str]:
    """(the keyring module, why) when the OS keyring is usable, else (None, why not)."""
    try:
        import keyring
        from keyring.backends import chainer

        backend = keyring.get_keyring()
    except Exception as exc:  # noqa: BLE001 - a broken keyring install must not stop the app; fall back to a passphrase
        return None, f"the keyring library failed to load ({type(exc).__name__})"
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    real = _real_classes()
    if isinstance(backend, chainer.ChainerBackend):
        # a chain writes to the first backend that accepts: every one in it must be a real keyring
        members = list(getattr(backend, "backends", []))
        if not members:
            return None, "no OS keyring is available (only an empty keyring chain)"
        bad = [f"{type(b).__module__}.{type(b).__name__}" for b in members if not isinstance(b, real)]
        if bad:
            return None, f"the keyring chain includes {', '.join(bad)}, which is not the OS keyring"
        return keyring, f"the OS keyring ({', '.join(type(b).__name__ for b in members)})"
    if not isinstance(backend, real):
        return None, f"the keyring backend {name} is not the OS keyring (it may keep secrets in a plain file)"
    if getattr(backend, "priority", 0) <= 0:
        return None, f"the OS keyring ({name}) is not available"
    return keyring, f"the OS keyring ({name})"


def _real_keyring():
    """The OS keyring module when a real, secret-protecting backend is in use, else None."""
    return keyring_status()[0]


def kdf_cost(settings: Settings) -> tuple[int, int]:
    """The Argon2id (memory KiB, passes) for a new key; a value lowered from the environment has a floor."""
    memory, passes = settings.kdf_memory_kib, settings.kdf_iterations
    if "PHOTOGEN_KDF_MEMORY_KIB" in os.environ and memory < KDF_MIN_MEMORY_KIB:
        raise PhotogenError(
            f"PHOTOGEN_KDF_MEMORY_KIB={memory} is below the floor of {KDF_MIN_MEMORY_KIB} KiB: it would make a "
            "passphrase cheap to guess. Raise it or unset it (the default is 65536)."
        )
    if "PHOTOGEN_KDF_ITERATIONS" in os.environ and passes < KDF_MIN_ITERATIONS:
        raise PhotogenError(
            f"PHOTOGEN_KDF_ITERATIONS={passes} is below the floor of {KDF_MIN_ITERATIONS}: it would make a "
            "passphrase cheap to guess. Raise it or unset it (the default is 3)."
        )
    return memory, passes


def _derive(passphrase: str, salt: bytes, memory_kib: int, iterations: int) -> bytes:
    kdf = Argon2id(salt=salt, length=32, iterations=iterations, lanes=1, memory_cost=memory_kib)
    return kdf.derive(passphrase.encode("utf-8"))


def _check_blob(master: bytes) -> str:
    nonce = os.urandom(12)
    return _b64(nonce + AESGCM(master).encrypt(nonce, _CHECK_PLAINTEXT, b"check"))


def _verify(master: bytes, blob: str) -> bool:
    raw = _unb64(blob)
    try:
        return AESGCM(master).decrypt(raw[:12], raw[12:], b"check") == _CHECK_PLAINTEXT
    except InvalidTag:
        return False


def _ask_passphrase(confirm: bool, why: str = "") -> str:
    if not sys.stdin.isatty():
        raise PhotogenError(
            "photogen needs a passphrase to unlock its encrypted data: set PHOTOGEN_PASSPHRASE "
            f"or run it in a terminal.{' (' + why + '.)' if why else ''}"
        )
    first = getpass.getpass("photogen passphrase: ")
    if confirm and getpass.getpass("repeat passphrase: ") != first:
        raise PhotogenError("The two passphrases differ; nothing was created. Try again.")
    return first


def unlock(settings: Settings, *, create: bool = True) -> DataKeys:
    """Return the data keys for `settings.home`, creating them on first use.

    Raises PhotogenError for a wrong passphrase without touching any file.
    """
    path = settings.keyinfo_path
    if path.exists():
        return DataKeys.from_master(_open_existing(settings, path))
    if not create:
        raise PhotogenError(f"No photogen data in {settings.home}.")
    return DataKeys.from_master(_create(settings, path))


def _open_existing(settings: Settings, path: Path) -> bytes:
    try:
        info = json.loads(path.read_text())
        method = info["method"]
        _unb64(info["check"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise PhotogenError(f"{path} is damaged ({exc}); photogen cannot unlock this data directory.") from exc
    if method == "keyring":
        keyring, why = keyring_status()
        secret = keyring.get_password(KEYRING_SERVICE, info["keyring_user"]) if keyring else None  # type: ignore[attr-defined]
        if secret is None:
            raise PhotogenError(
                "The key for this data directory is kept in the OS keyring, which is not available "
                f"now ({why}). Log in to your desktop session (or unlock the keyring) and try again."
            )
        master = _unb64(secret)
    elif method == "passphrase":
        phrase = settings.passphrase.get_secret_value() if settings.passphrase else _ask_passphrase(confirm=False)
        try:
            salt, memory, passes = _unb64(info["salt"]), int(info["memory_kib"]), int(info["iterations"])
        except (KeyError, ValueError, TypeError) as exc:
            raise PhotogenError(f"{path} is damaged ({exc}); photogen cannot unlock this data directory.") from exc
        master = _derive(phrase, salt, memory, passes)
    else:
        raise PhotogenError(f"{path} names an unknown key method {method!r}; upgrade photogen.")
    if not _verify(master, info["check"]):
        raise PhotogenError("Wrong passphrase: the data stays locked and nothing was changed.")
    return master


def _create(settings: Settings, path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    keyring, why = None, "PHOTOGEN_USE_KEYRING is off" if not settings.use_keyring else "a passphrase was given"
    if settings.use_keyring and settings.passphrase is None:
        keyring, why = keyring_status()
        if keyring is None:
            log.warning("not using a keyring: %s; the key is derived from a passphrase instead", why)
    if keyring is not None:
        master = os.urandom(32)
        user = f"data-{uuid.uuid4()}"
        keyring.set_password(KEYRING_SERVICE, user, _b64(master))  # type: ignore[attr-defined]
        info = {"version": _KEYINFO_VERSION, "method": "keyring", "keyring_user": user}
    else:
        memory, passes = kdf_cost(settings)
        phrase = settings.passphrase.get_secret_value() if settings.passphrase else _ask_passphrase(confirm=True, why=why)
        if not phrase:
            raise PhotogenError("An empty passphrase would protect nothing; choose one.")
        salt = os.urandom(16)
        master = _derive(phrase, salt, memory, passes)
        info = {
            "version": _KEYINFO_VERSION,
            "method": "passphrase",
            "kdf": "argon2id",
            "salt": _b64(salt),
            "memory_kib": memory,
            "iterations": passes,
        }
    info["check"] = _check_blob(master)
    # written whole, then linked into place: atomic, and exclusive, so two processes starting on a
    # fresh directory never each keep a different key (the loser reads the winner's)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(info, indent=2))
    try:
        os.link(tmp, path)
    except FileExistsError:
        return _open_existing(settings, path)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("created a new key (%s) for %s", info["method"], settings.home)
    return master


def forget(settings: Settings) -> None:
    """Remove the key material for a data directory (used by delete-all)."""
    path = settings.keyinfo_path
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if info.get("method") == "keyring":
        keyring = _real_keyring()
        if keyring is not None:
            try:
                keyring.delete_password(KEYRING_SERVICE, info["keyring_user"])
            except Exception:  # noqa: BLE001 - already gone: the goal is reached
                pass
