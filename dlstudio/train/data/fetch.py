"""One file over HTTP(S): progress, cancel, resume of an interrupted download, checksum check.

A download is written to ``<name>.part`` and renamed only once it is complete and its checksum
matches, so a half-written or damaged file is never taken for the real one. An interrupted
download keeps its ``.part``: the next try asks the server for the rest (an HTTP range request)
and starts cleanly from zero when the server cannot resume.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from dlstudio.core.files import write_text_atomic
from dlstudio.train.errors import DatasetError

ProgressCallback = Callable[[str, int, int], None]
"""``progress(file_name, bytes_done, bytes_total)``; total is 0 when the server does not say."""

MIRROR_ENV = "DLSTUDIO_DATA_MIRROR"
"""Environment variable naming a mirror base URL; a data set ``name`` is read from
``<mirror>/<name>/<file>`` and checked against the canonical checksums."""

_CHUNK = 1 << 16


class CancelToken(Protocol):
    """Anything with ``is_set()`` (a :class:`threading.Event`); set it to stop a download."""

    def is_set(self) -> bool:
        """True once the download should stop."""
        ...


class DownloadCancelled(DatasetError):
    """The download was cancelled; its ``.part`` file stays, and the next try resumes it."""


@dataclass(frozen=True)
class Checksum:
    """An expected digest: ``algorithm`` is ``md5`` or ``sha256``, ``digest`` its hex text."""

    algorithm: str
    digest: str


def digest_of(path: Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def mirror_url(dataset: str) -> str | None:
    """The mirror's folder for ``dataset`` when ``$DLSTUDIO_DATA_MIRROR`` is set, else None."""
    base = os.environ.get(MIRROR_ENV, "").strip()
    if not base:
        return None
    return f"{base.rstrip('/')}/{dataset}/"


def check_file(path: Path, checksum: Checksum | None) -> None:
    """Refuse ``path`` when its digest differs from ``checksum`` (and record its sha256).

    Without a checksum, the sha256 recorded beside the file (``<name>.sha256``) at its first
    download is the reference, so a damaged or swapped file is still caught later.
    """
    problem = _mismatch(path, checksum)
    if problem:
        raise DatasetError(
            f"{path}: checksum mismatch ({problem}); the file is damaged or not the original; "
            "delete it and download again"
        )


def _mismatch(path: Path, checksum: Checksum | None) -> str | None:
    """None when ``path`` matches; else "<algorithm> <actual>, expected <digest>"."""
    recorded = path.with_name(path.name + ".sha256")
    if checksum is None and recorded.exists():
        checksum = Checksum("sha256", recorded.read_text().strip())
    sha256 = digest_of(path, "sha256")
    if checksum is not None:
        actual = sha256 if checksum.algorithm == "sha256" else digest_of(path, checksum.algorithm)
        if actual != checksum.digest.lower():
            return f"{checksum.algorithm} {actual}, expected {checksum.digest}"
    write_text_atomic(recorded, sha256 + "\n")
    return None


def fetch_file(
    url: str,
    target: Path,
    checksum: Checksum | None = None,
    progress: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    timeout_s: float = 30.0,
    attempts: int = 3,
) -> Path:
    """Download ``url`` to ``target`` (resuming a ``.part`` left by an earlier try) and check it.

    A connection that breaks midway is resumed up to ``attempts`` times. A finished download
    whose checksum differs is deleted and refused. Raises :class:`DownloadCancelled` when
    ``cancel`` is set, :class:`DatasetError` for anything else.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    complete, last_error = False, ""
    for _attempt in range(max(1, attempts)):
        try:
            complete = _download_rest(url, partial, target.name, progress, cancel, timeout_s)
        except urllib.error.HTTPError as exc:
            last_error = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 416:
                break  # 404 and friends will not change on a retry
            continue
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            last_error = str(getattr(exc, "reason", None) or exc)
            continue
        if complete:
            break
        last_error = "the connection closed before the whole file came"
    if not complete:
        kept = partial.exists() and partial.stat().st_size > 0
        if not kept:
            partial.unlink(missing_ok=True)
        hint = (
            f"the part fetched so far is kept in {partial} and the next try resumes it"
            if kept
            else f"check the network connection or the mirror address, or copy the file into "
            f"{target.parent} by hand"
        )
        raise DatasetError(f"could not download {url} ({last_error}); {hint}")
    problem = _mismatch(partial, checksum)
    if problem:
        partial.unlink(missing_ok=True)
        partial.with_name(partial.name + ".sha256").unlink(missing_ok=True)
        raise DatasetError(
            f"{url}: checksum mismatch ({problem}); the server sent a damaged or different file, "
            "so it was deleted; try again or use another mirror"
        )
    partial.with_name(partial.name + ".sha256").replace(target.with_name(target.name + ".sha256"))
    # Rename only a complete, verified download, so it is never mistaken for the real file.
    os.replace(partial, target)
    return target


def _download_rest(
    url: str,
    partial: Path,
    name: str,
    progress: ProgressCallback | None,
    cancel: CancelToken | None,
    timeout_s: float,
) -> bool:
    """Append the missing bytes to ``partial``; True when the file is complete."""
    offset = partial.stat().st_size if partial.exists() else 0
    request = urllib.request.Request(url)
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # The server cannot give bytes from there (the part is whole or stale): start again.
            partial.unlink(missing_ok=True)
        raise
    with response:
        resumed = offset > 0 and response.status == 206 and _range_start(response) == offset
        if not resumed:
            offset = 0  # the server sent the whole file: start cleanly from zero
        length = int(response.headers.get("Content-Length") or 0)
        total = offset + length if length else 0
        done = offset
        with partial.open("ab" if resumed else "wb") as out:
            while True:
                if cancel is not None and cancel.is_set():
                    raise DownloadCancelled(
                        f"download of {url} cancelled at {done} bytes; the part is kept in "
                        f"{partial} and the next try resumes it"
                    )
                try:
                    chunk = response.read(_CHUNK)
                except http.client.IncompleteRead as exc:
                    out.write(exc.partial)
                    return False
                if not chunk:
                    break
                out.write(chunk)
                done += len(chunk)
                if progress is not None:
                    progress(name, done, total)
    return not total or done >= total


def _range_start(response: http.client.HTTPResponse) -> int | None:
    content_range = response.headers.get("Content-Range", "")
    # "bytes 100-199/200"
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None
