"""Safe file I/O shared by projects, recovery copies, checkpoints, weights and exports.

Writing is atomic: the data goes to a hidden temporary file beside the target, is flushed to
disk, gets the target's permissions and then is renamed over it, so readers only ever see the old
file or the new one. A symlink is written through (its target is replaced, the link stays). Every
failure removes the temporary file; a temporary file left by a process that was killed mid-write
is removed by the next write to the same target. Failures raise
:class:`~dlstudio.core.errors.FileWriteError` (or :class:`DiskFullError`) with a plain message.

Reading (:func:`read_regular_file`) refuses devices and pipes and stops at a size limit, so
``/dev/zero`` or a FIFO can neither fill memory nor hang the program.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import shutil
import stat
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from dlstudio.core.errors import DiskFullError, DLStudioError, FileWriteError

TEMP_SUFFIX = ".dlstudio-tmp"
"""Every temporary file ends so: ``.<target name>.<pid>-<random>.dlstudio-tmp``."""
LEGACY_STALE_AGE_S = 60.0
"""Temporary names of older versions carry no process id; they are stale once this old."""
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NEARLY_FULL_BYTES = 64 << 10
_umask_lock = threading.Lock()


# ------------------------------------------------------------------ writing
def write_text_atomic(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` as UTF-8 atomically; returns the file really written (symlinks resolved)."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = text[exc.start]
        raise FileWriteError(
            str(path),
            f"the text holds a character that cannot be stored (U+{ord(bad):04X}, a lone "
            f"surrogate, at character {exc.start}); rename what contains it and save again",
        ) from None
    return write_bytes_atomic(path, data)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> Path:
    """Write ``data`` atomically; returns the file really written (symlinks resolved)."""
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[_write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    return resolve_target(path)


def _write(fd: int, data: memoryview) -> int:
    """One ``os.write`` (a seam for tests that simulate a full disk)."""
    return os.write(fd, data)


@contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """A temporary path to write to (for libraries that take a file name); when the block ends
    normally the file replaces ``path`` (through a symlink, keeping the old file's mode).

    If the block raises, the temporary file is removed; an :class:`OSError` becomes a
    :class:`FileWriteError`, and any failure on a disk that is full becomes :class:`DiskFullError`.
    """
    target = resolve_target(path)
    ensure_folder(target.parent)
    remove_stale_temps(target)
    tmp = target.parent / f".{target.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        yield tmp
        if not tmp.exists():
            raise FileWriteError(str(target), "the writer produced no file")
        _fsync_path(tmp)
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
        _fsync_path(target.parent)
    except BaseException as exc:
        full = _is_disk_full(exc, target.parent)
        _unlink_quietly(tmp)
        if full:
            raise DiskFullError(
                str(target),
                f"the disk is full ({_free_text(target.parent)} free in {target.parent}); "
                f"{'the previous file is unchanged' if target.exists() else 'nothing was written'}"
                "; free some space and try again",
            ) from None
        if isinstance(exc, OSError) and not isinstance(exc, DLStudioError):
            raise FileWriteError(str(target), describe_os_error(exc, target)) from None
        raise


def keep_copy(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> Path:
    """Make ``target`` a copy of ``source`` atomically, leaving ``source`` where it is (a hard
    link where the file system allows one, else a byte copy); returns the file written.

    Unlike moving ``source`` aside, no moment exists at which ``source`` is missing, so a
    process killed at any point leaves ``source`` readable.
    """
    origin = resolve_target(source)
    final = resolve_target(target)
    remove_stale_temps(final)
    tmp = final.parent / f".{final.name}.{os.getpid()}-{secrets.token_hex(4)}{TEMP_SUFFIX}"
    try:
        os.link(origin, tmp)
    except OSError:  # no hard links here (some network and FAT file systems): copy the bytes
        with atomic_path(final) as copy:
            shutil.copyfile(origin, copy)
        return final
    try:
        os.replace(tmp, final)
        _fsync_path(final.parent)
    except BaseException as exc:
        _unlink_quietly(tmp)
        if isinstance(exc, OSError):
            raise FileWriteError(str(final), describe_os_error(exc, final)) from None
        raise
    return final


def resolve_target(path: str | os.PathLike[str]) -> Path:
    """The file a write to ``path`` must replace: symlinks (also dangling ones) followed."""
    return Path(os.path.realpath(os.path.abspath(os.fspath(path))))


def ensure_folder(folder: str | os.PathLike[str]) -> Path:
    """Create ``folder`` (and parents) or raise :class:`FileWriteError` saying why not."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise FileWriteError(str(folder), f"{folder} is a file, not a folder") from None
    except OSError as exc:
        raise FileWriteError(str(folder), describe_os_error(exc, folder)) from None
    if not folder.is_dir():
        raise FileWriteError(str(folder), f"{folder} is not a folder")
    return folder


def describe_os_error(exc: OSError, target: Path) -> str:
    """A plain sentence for an OS error met while writing ``target``."""
    code = exc.errno
    if code in _FULL_ERRNOS:
        return "the disk is full; free some space and try again"
    if code == errno.EROFS:
        return f"{_existing_parent(target)} is on a read-only disk; choose another folder"
    if code in (errno.EACCES, errno.EPERM):
        return f"permission denied in {_existing_parent(target)}; choose a folder you can write to"
    if code == errno.ENOTDIR or isinstance(exc, NotADirectoryError):
        blocker = _file_in_the_way(target)
        return f"{blocker} is a file, not a folder" if blocker else "a part of the path is a file"
    if code == errno.ENAMETOOLONG:
        return "the file name is too long"
    if code == errno.EISDIR:
        return f"{target} is a folder"
    return exc.strerror or str(exc)


def _existing_parent(path: Path) -> Path:
    for parent in (path, *path.parents):
        if parent.exists():
            return parent
    return path


def _file_in_the_way(path: Path) -> Path | None:
    for parent in reversed((path, *path.parents)):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _mode_for(target: Path) -> int:
    """The old file's permission bits, or what a new file gets (0666 less the umask)."""
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except OSError:
        pass
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return 0o666 & ~mask


def _fsync_path(path: Path) -> None:
    """Flush a file or folder to disk (folders: POSIX only, where a rename needs it)."""
    if path.is_dir() and os.name == "nt":
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError as exc:  # some file systems cannot sync folders
        if path.is_file() or exc.errno in _FULL_ERRNOS:
            raise
    finally:
        os.close(fd)


def _is_disk_full(exc: BaseException, folder: Path) -> bool:
    """True for ENOSPC/EDQUOT anywhere in the chain, or a library error (no errno) with the disk
    nearly full: torch reports a short write as ``unexpected pos 110592 vs 110480``."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno in _FULL_ERRNOS:
            return True
        if "No space left on device" in str(seen) or "os error 28" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    if isinstance(exc, (KeyboardInterrupt, SystemExit, DLStudioError)):
        return False
    if isinstance(exc, OSError) and exc.errno is not None:
        return False  # the system said what went wrong, and it was not a full disk
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL_BYTES
    except OSError:
        return False


def _free_text(folder: Path) -> str:
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return "no space"
    if free >= 2**30:
        return f"only {free / 2**30:.1f} GiB"
    if free >= 2**20:
        return f"only {free / 2**20:.1f} MiB"
    return f"only {free / 2**10:.0f} KiB" if free >= 2**10 else f"only {free} bytes"


def _unlink_quietly(path: Path) -> None:
    with suppress(OSError):
        path.unlink(missing_ok=True)


# ----------------------------------------------------------- stale temps
_OUR_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)-[0-9a-f]{8}" + re.escape(TEMP_SUFFIX) + "$")


def remove_stale_temps(target: str | os.PathLike[str]) -> list[Path]:
    """Delete temporary files of earlier writes to ``target`` whose writer died; returns them.

    Our names carry the writer's process id, so only dead writers' files go. Names used by older
    versions (``.NAME.XXXXXXXX.tmp``, ``.NAME.tmp``, ``NAME.tmp``) are removed once a minute old.
    """
    target = Path(target)
    folder, name = target.parent, target.name
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    legacy = re.compile(
        r"^(\." + re.escape(name) + r"\.[A-Za-z0-9_]{8}\.tmp|\.?" + re.escape(name) + r"\.tmp)$"
    )
    now = time.time()
    for entry in entries:
        match = _OUR_TEMP.match(entry.name)
        if match and match.group("name") == name:
            stale = not _process_alive(int(match.group("pid")), entry)
        elif legacy.match(entry.name):
            stale = _age(entry, now) > LEGACY_STALE_AGE_S
        else:
            continue
        if stale and entry.is_file(follow_symlinks=False):
            _unlink_quietly(Path(entry.path))
            removed.append(Path(entry.path))
    return removed


def _age(entry: os.DirEntry, now: float) -> float:
    try:
        return now - entry.stat(follow_symlinks=False).st_mtime
    except OSError:
        return 0.0


def _process_alive(pid: int, entry: os.DirEntry) -> bool:
    if pid == os.getpid():
        return True  # another write of ours, perhaps in another thread
    if os.name == "nt":  # os.kill(pid, 0) is not a probe on Windows: go by age
        return _age(entry, time.time()) < 3600
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


# ------------------------------------------------------------------ reading
def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of a regular file of at most ``max_bytes``.

    Raises :class:`ValueError` (with a plain sentence) for a device, pipe, folder or a file that
    is too large, and :class:`OSError` when it cannot be opened. A FIFO is opened without
    blocking, so nothing waits for a writer.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(os.fspath(path), flags)
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ValueError("this is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("this is not a regular file (a device or a pipe); give a file")
        if info.st_size > max_bytes:
            raise ValueError(f"the file is {info.st_size} bytes; the limit is {max_bytes} bytes")
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:  # the file grew while we read it
                raise ValueError(f"the file is larger than the limit of {max_bytes} bytes")
        return b"".join(chunks)
    finally:
        os.close(fd)
