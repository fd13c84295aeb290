from __future__ import annotations

import hashlib
import json
from pathlib import Path

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import chainer, fail, null
from keyring.backends.SecretService import Keyring as SecretServiceKeyring

from photogen.errors import PhotogenError
from photogen.library import keys
from photogen.library.library import open_library
from photogen.settings import Settings
from tests.conftest import TEST_KDF


def _snapshot(home: Path) -> dict[str, str]:
    return {str(p.relative_to(home)): hashlib.sha256(p.read_bytes()).hexdigest() for p in home.rglob("*") if p.is_file()}


def test_wrong_passphrase_is_refused_and_touches_nothing(settings: Settings, library, photo, tmp_path: Path) -> None:
    library.catalog.audit("test.marker", "x")
    library.close()
    before = _snapshot(settings.home)
    wrong = Settings(home=settings.home, passphrase="not the passphrase", use_keyring=False, **TEST_KDF)
    with pytest.raises(PhotogenError, match="Wrong passphrase"):
        open_library(wrong)
    assert _snapshot(settings.home) == before
    # and the right one still opens it, with the data intact
    with open_library(settings) as again:
        assert again.catalog.scalar("SELECT count(*) FROM audit_log WHERE action = 'test.marker'") == 1


def test_key_file_holds_no_key_and_no_passphrase(settings: Settings, library) -> None:
    text = settings.keyinfo_path.read_text()
    info = json.loads(text)
    assert info["method"] == "passphrase" and info["kdf"] == "argon2id"
    assert settings.passphrase.get_secret_value() not in text
    for key in (library.keys.catalog, library.keys.files, library.keys.names):
        assert key.hex() not in text


def test_subkeys_differ_and_are_stable(settings: Settings, library) -> None:
    k = library.keys
    assert len({k.catalog, k.files, k.names}) == 3
    library.close()
    with open_library(settings) as again:
        assert again.keys == k


def test_no_passphrase_and_no_terminal_gives_a_clear_error(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    bare = Settings(home=tmp_path / "h", use_keyring=False, **TEST_KDF)
    with pytest.raises(PhotogenError, match="PHOTOGEN_PASSPHRASE"):
        open_library(bare)
    assert not (tmp_path / "h" / "catalog.db").exists()


class MemoryKeyring(SecretServiceKeyring):
    """The Secret Service backend (a real OS keyring) with its D-Bus calls replaced by a dict."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


def test_os_keyring_keeps_the_key_when_one_exists(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        s = Settings(home=tmp_path / "h", use_keyring=True, **TEST_KDF)
        with open_library(s) as lib:
            lib.catalog.audit("x")
        info = json.loads(s.keyinfo_path.read_text())
        assert info["method"] == "keyring"
        assert len(backend.store) == 1
        with open_library(s) as lib:  # reopens from the keyring, no passphrase anywhere
            assert lib.catalog.scalar("SELECT count(*) FROM audit_log") == 1
        keys.forget(s)
        assert backend.store == {}
        with pytest.raises(PhotogenError, match="keyring"):
            open_library(s)
    finally:
        keyring.set_keyring(previous)


class PlaintextFileKeyring(KeyringBackend):
    """What keyrings.alt's PlaintextKeyring does: a high priority, and secrets in a file as they are."""

    priority = 10  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.store: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.store.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.store[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.store.pop((service, username), None)


@pytest.mark.parametrize(
    "backend",
    [PlaintextFileKeyring(), null.Keyring(), fail.Keyring(), chainer.ChainerBackend()],
    ids=["plaintext-file", "null", "fail", "empty-chain"],
)
def test_a_keyring_that_is_not_the_os_keyring_is_refused_and_says_why(backend: KeyringBackend, tmp_path: Path, caplog) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(backend)
    try:
        module, why = keys.keyring_status()
        assert module is None and why
        if isinstance(backend, PlaintextFileKeyring):
            assert "PlaintextFileKeyring" in why and "not the OS keyring" in why
        s = Settings(home=tmp_path / "h", use_keyring=True, passphrase="correct horse battery staple", **TEST_KDF)
        s = s.model_copy(update={"passphrase": None})
        with pytest.raises(PhotogenError, match="PHOTOGEN_PASSPHRASE") as err:
            keys.unlock(s)  # no terminal in tests: the fallback asks for a passphrase, saying why
        assert why in str(err.value)
        assert any(why in r.getMessage() for r in caplog.records)
        if isinstance(backend, PlaintextFileKeyring):
            assert backend.store == {}, "nothing may be written to a plaintext keyring"
        with open_library(Settings(home=tmp_path / "h2", use_keyring=True, passphrase="pw pw pw", **TEST_KDF)) as lib:
            lib.catalog.audit("x")
        assert json.loads((tmp_path / "h2" / "key.json").read_text())["method"] == "passphrase"
    finally:
        keyring.set_keyring(previous)


def test_a_chain_with_a_plaintext_backend_is_refused(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    real, plain = MemoryKeyring(), PlaintextFileKeyring()

    class Chain(chainer.ChainerBackend):
        backends = [real, plain]  # type: ignore[assignment]

    keyring.set_keyring(Chain())
    try:
        module, why = keys.keyring_status()
        assert module is None and "PlaintextFileKeyring" in why
        Chain.backends = [real]  # type: ignore[assignment]
        module, why = keys.keyring_status()
        assert module is not None and "MemoryKeyring" in why
    finally:
        keyring.set_keyring(previous)


def test_the_argon2_cost_from_the_environment_has_a_floor(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PHOTOGEN_KDF_MEMORY_KIB", "1024")
    s = Settings(home=tmp_path / "h", use_keyring=False, passphrase="correct horse battery staple")
    with pytest.raises(PhotogenError, match="below the floor of 19456 KiB"):
        open_library(s)
    assert not s.keyinfo_path.exists()
    monkeypatch.setenv("PHOTOGEN_KDF_MEMORY_KIB", str(keys.KDF_MIN_MEMORY_KIB))
    monkeypatch.setenv("PHOTOGEN_KDF_ITERATIONS", "1")
    with pytest.raises(PhotogenError, match="PHOTOGEN_KDF_ITERATIONS=1 is below the floor of 2"):
        open_library(Settings(home=tmp_path / "h", use_keyring=False, passphrase="correct horse battery staple"))
    monkeypatch.setenv("PHOTOGEN_KDF_ITERATIONS", "2")
    with open_library(Settings(home=tmp_path / "h", use_keyring=False, passphrase="correct horse battery staple")) as lib:
        lib.catalog.audit("x")
    info = json.loads((tmp_path / "h" / "key.json").read_text())
    assert (info["memory_kib"], info["iterations"]) == (keys.KDF_MIN_MEMORY_KIB, 2)
