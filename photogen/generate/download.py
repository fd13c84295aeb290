"""Fetching a model repository from the Hugging Face hub: resumable, checked, never half-used.

Files land in a partial folder (`<commit>.partial/`), each first as `<file>.incomplete`, which the next
run resumes with an HTTP Range request. A file is moved to its name only when its size and hash (the
LFS sha256, or the git blob id for small files) match what the hub lists; the folder is renamed to
`<commit>/` only when every file is there. Only a complete folder is ever recorded as installed.

huggingface_hub does the HTTP (its `http_get`: headers, Range resume, retries on a dropped stream);
this module adds the layout, the checks, cancelling, progress and messages a user can act on.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from photogen.errors import PhotogenError

logger = logging.getLogger(__name__)

# (bytes done, bytes total, what) -> None; total is 0 when unknown
ByteProgress = Callable[[int, int, str], None]
PARTIAL_SUFFIX = ".partial"
INCOMPLETE_SUFFIX = ".incomplete"
# keep this much free beyond the download itself: the export that follows needs room too
_DISK_MARGIN = 64 * 1024 * 1024


class DownloadCancelled(PhotogenError):
    """The user stopped a download; what arrived is kept for the next run to resume."""


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # LFS files: the content's sha256
    git_sha1: str | None  # small files: the git blob id (sha1 of "blob <size>\0" + content)


@dataclass(frozen=True)
class RemoteSnapshot:
    repo: str
    revision: str
    commit: str
    files: tuple[RemoteFile, ...]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)


def hub_endpoint(endpoint: str | None = None) -> str:
    """The hub address: given, else `HF_ENDPOINT` as set now (huggingface_hub reads it only at import)."""
    from huggingface_hub import constants

    return (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def snapshot_dir(root: Path, repo: str, commit: str) -> Path:
    return root / repo.replace("/", "--") / commit


# ----------------------------------------------------------------------------------------- errors


def _disk_full(where: Path, need: int | None = None) -> PhotogenError:
    free = _free_bytes(where)
    needs = f" It needs {need / 1e9:.2f} GB more" if need else ""
    return PhotogenError(
        f"The disk holding {where} is full ({free / 1e9:.2f} GB free).{needs} Free some space, then run the same "
        "step again: a download resumes where it stopped, and nothing half-written is used."
    )


def _free_bytes(where: Path) -> int:
    probe = where
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def hub_error(exc: BaseException, repo: str, revision: str, where: Path) -> PhotogenError:
    """What to tell the user about a failed hub call, for each way it fails."""
    import requests
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    if isinstance(exc, PhotogenError):
        return exc
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, GatedRepoError) or status in (401, 403):
        return PhotogenError(
            f"The hub refused {repo} ({status or 'gated'}): it is a gated model. Open https://huggingface.co/{repo}, "
            "accept its terms there while logged in, then log in on this computer (`hf auth login`) or set the "
            "HF_TOKEN environment variable, and download again."
        )
    if isinstance(exc, RevisionNotFoundError):
        return PhotogenError(f"The hub has {repo} but no revision '{revision}'.")
    if isinstance(exc, RepositoryNotFoundError):
        return PhotogenError(f"The hub has no model {repo}; check the name, or import weights you already have.")
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return _disk_full(where)
    if isinstance(exc, OfflineModeIsEnabled):
        return PhotogenError("Downloads are switched off (HF_HUB_OFFLINE is set): unset it to download.")
    if isinstance(exc, HfHubHTTPError):
        return PhotogenError(
            f"The Hugging Face hub answered with an error ({status}) for {repo}. Try again later; the download resumes."
        )
    if isinstance(exc, (requests.RequestException, ConnectionError, TimeoutError)) or (
        isinstance(exc, OSError) and "Consistency check failed" in str(exc)
    ):
        return PhotogenError(
            f"Could not download {repo} from the Hugging Face hub: the connection was lost or it cannot be reached "
            f"({type(exc).__name__}). Check the internet connection and run the same download again (it resumes "
            "where it stopped), or import weights you already have with `photogen models import PATH`."
        )
    if isinstance(exc, OSError):
        return PhotogenError(f"Could not write the download to {where}: {exc.strerror or exc}.")
    return PhotogenError(f"The download of {repo} failed ({type(exc).__name__}: {exc}). Run it again to resume.")


# ----------------------------------------------------------------------------------------- listing


def remote_snapshot(repo: str, revision: str, allow_patterns: list[str] | None, endpoint: str | None = None,
                    token: str | None = None) -> RemoteSnapshot:  # fmt: skip
    """The files of `repo@revision` that match `allow_patterns`, with sizes and hashes, and the commit."""
    from huggingface_hub import HfApi
    from huggingface_hub.utils import filter_repo_objects

    info = HfApi(endpoint=hub_endpoint(endpoint), token=token).model_info(repo, revision=revision, files_metadata=True)
    if not info.sha:
        raise PhotogenError(f"The hub did not say which commit {repo}@{revision} is; try again later.")
    siblings = {s.rfilename: s for s in info.siblings or []}
    wanted = list(filter_repo_objects(list(siblings), allow_patterns=allow_patterns))
    if not wanted:
        raise PhotogenError(f"{repo}@{revision} has none of the files a diffusers pipeline needs.")
    files = []
    for name in sorted(wanted):
        s = siblings[name]
        if s.size is None:
            raise PhotogenError(f"The hub did not give the size of {repo}/{name}; try again later.")
        files.append(RemoteFile(name, s.size, s.lfs.sha256 if s.lfs else None, None if s.lfs else s.blob_id))
    return RemoteSnapshot(repo, revision, info.sha, tuple(files))


# ----------------------------------------------------------------------------------------- fetching


class _Sink:
    """The file object http_get writes to: reports progress and stops when the user cancels."""

    def __init__(self, f: BinaryIO, on_write: Callable[[int], None], cancel: threading.Event | None) -> None:
        self._f, self._on_write, self._cancel = f, on_write, cancel
        self.name = f.name

    def write(self, data: bytes) -> int:
        if self._cancel is not None and self._cancel.is_set():
            raise DownloadCancelled("The download was cancelled. What arrived is kept: download again to resume.")
        n = self._f.write(data)
        self._on_write(self._f.tell())
        return n

    def __getattr__(self, name: str) -> Any:  # tell, seek, truncate, flush
        return getattr(self._f, name)


def _hash_matches(path: Path, remote: RemoteFile) -> bool:
    if remote.sha256:
        h = hashlib.sha256()
        expected = remote.sha256
    elif remote.git_sha1:
        h = hashlib.sha1(f"blob {remote.size}\0".encode(), usedforsecurity=False)
        expected = remote.git_sha1
    else:
        return True  # the hub gave no hash: the size check is all there is
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 22), b""):
            h.update(chunk)
    return h.hexdigest() == expected


def _fetch_file(url: str, remote: RemoteFile, target: Path, headers: dict[str, str],
                on_bytes: Callable[[int], None], cancel: threading.Event | None) -> None:  # fmt: skip
    from huggingface_hub.file_download import http_get

    incomplete = target.with_name(target.name + INCOMPLETE_SUFFIX)
    target.parent.mkdir(parents=True, exist_ok=True)
    with incomplete.open("ab") as f:
        resume = f.tell()
        if resume > remote.size:  # not this file: start over
            f.truncate(0)
            resume = 0
        if resume:
            logger.info("resuming %s at %d of %d bytes", remote.path, resume, remote.size)
        http_get(url, _Sink(f, on_bytes, cancel), resume_size=resume, headers=headers,  # type: ignore[arg-type]
                 expected_size=remote.size, displayed_filename=remote.path)  # fmt: skip
    if incomplete.stat().st_size != remote.size or not _hash_matches(incomplete, remote):
        incomplete.unlink()
        raise PhotogenError(
            f"{remote.path} arrived damaged (its size or hash differs from what the hub lists) and was removed. "
            "Download again."
        )
    os.replace(incomplete, target)


def fetch_snapshot(repo: str, revision: str, root: Path, allow_patterns: list[str] | None = None, *,
                   endpoint: str | None = None, token: str | None = None, progress: ByteProgress | None = None,
                   cancel: threading.Event | None = None) -> tuple[Path, RemoteSnapshot]:  # fmt: skip
    """Download `repo@revision` under `root`; returns the complete folder (named by commit) and what it holds."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, disable_progress_bars

    disable_progress_bars("huggingface_hub.http_get")  # progress goes to `progress`, not a second bar on stderr
    try:
        snapshot = remote_snapshot(repo, revision, allow_patterns, endpoint, token)
    except Exception as e:
        raise hub_error(e, repo, revision, root) from e
    final = snapshot_dir(root, repo, snapshot.commit)
    partial = final.with_name(final.name + PARTIAL_SUFFIX)
    if final.is_dir():
        if all((final / f.path).is_file() and (final / f.path).stat().st_size == f.size for f in snapshot.files):
            return final, snapshot
        logger.warning("%s lost files since it was downloaded: fetching what is missing", final)
        os.replace(final, partial)
    for stale in final.parent.glob(f"*{PARTIAL_SUFFIX}"):  # a partial download of a commit the hub moved on from
        if stale != partial:
            shutil.rmtree(stale, ignore_errors=True)
    try:
        partial.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise hub_error(e, repo, revision, root) from e

    def on_disk(f: RemoteFile) -> int:
        target = partial / f.path
        if target.exists():
            return f.size
        incomplete = target.with_name(target.name + INCOMPLETE_SUFFIX)
        return min(incomplete.stat().st_size, f.size) if incomplete.exists() else 0

    have = {f.path: on_disk(f) for f in snapshot.files}
    missing = snapshot.total_bytes - sum(have.values())
    if missing + _DISK_MARGIN > _free_bytes(partial):
        raise _disk_full(partial, missing)
    headers = build_hf_headers(token=token)
    headers["Accept-Encoding"] = "identity"  # sizes and Range offsets are of the bytes as stored
    done_before = sum(have.values())
    for remote in snapshot.files:
        target = partial / remote.path
        if target.exists():
            continue
        base = done_before - have[remote.path]

        def on_bytes(n: int, base: int = base, name: str = remote.path) -> None:
            if progress is not None:
                progress(base + n, snapshot.total_bytes, name)

        url = hf_hub_url(repo, remote.path, revision=snapshot.commit, endpoint=hub_endpoint(endpoint))
        try:
            _fetch_file(url, remote, target, headers, on_bytes, cancel)
        except Exception as e:
            raise hub_error(e, repo, revision, partial) from e
        done_before = base + remote.size
        if progress is not None:
            progress(done_before, snapshot.total_bytes, remote.path)
    os.replace(partial, final)  # the one step that marks it complete
    logger.info("downloaded %s@%s (%s) to %s", repo, revision, snapshot.commit, final)
    return final, snapshot


# ----------------------------------------------------------------------------------------- before a download

_LICENSE_MAX_BYTES = 512 * 1024


@dataclass(frozen=True)
class HubDetails:
    commit: str
    download_bytes: int  # measured: the sum of the files a download would fetch
    license_text: str | None


def hub_details(repo: str, revision: str, allow_patterns: list[str] | None, license_file: tuple[str, str] | None,
                endpoint: str | None = None, token: str | None = None) -> HubDetails:  # fmt: skip
    """What a download would fetch (its measured size) and the license's full text, asked of the hub when the
    user presses *Check on the hub*: nothing is downloaded into the model's folder."""
    import requests
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, hf_raise_for_status

    try:
        snapshot = remote_snapshot(repo, revision, allow_patterns, endpoint, token)
        text = None
        if license_file is not None:
            url = hf_hub_url(license_file[0], license_file[1], revision="main", endpoint=hub_endpoint(endpoint))
            r = requests.get(url, headers=build_hf_headers(token=token), timeout=30, stream=True)
            hf_raise_for_status(r)
            text = r.raw.read(_LICENSE_MAX_BYTES, decode_content=True).decode("utf-8", errors="replace")
    except Exception as e:
        raise hub_error(e, repo, revision, Path(".")) from e
    return HubDetails(snapshot.commit, snapshot.total_bytes, text)
