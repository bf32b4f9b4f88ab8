"""``FileSink``: JSON lines appended to a file, with size-based rotation that heals itself.

Every batch is one ``os.write`` on a descriptor opened with ``O_APPEND``: no Python buffer and no
Python lock, so a batch lands whole at the end of the file even when several processes append to
the same path, a forked child has nothing of its parent's to wait on, and a failed write leaves
nothing behind to be written twice.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from fapilog._report import RateLimited
from fapilog.sinks._base import PartialWrite

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock, so one writing process per path
    fcntl = None  # type: ignore[assignment]

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_OPEN_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | _CLOEXEC
#: At most one stderr report of the sink's own troubles (a skipped rotation, a failed reopen)
#: this often; the batch itself was written, so the consumer has nothing to report.
REPORT_EVERY_S = 5.0


class FileSink:
    """Appends JSON lines to ``path``, creating its directory.

    With ``max_bytes > 0`` the file is rotated before a batch would push it past ``max_bytes``:
    ``app.log`` becomes ``app.log.1``, ``app.log.1`` becomes ``app.log.2``, … up to
    ``backup_count`` backups (the oldest is removed). A batch is never split across files, so every
    file holds whole lines; a single batch larger than ``max_bytes`` gets a file of its own.
    ``backup_count=0`` keeps no backups: rotation empties the file.

    Healing: before each batch the sink checks (one ``stat``) that ``path`` still names its open
    file; when the file was moved or deleted (``logrotate``'s ``create`` mode, an operator, a
    removed directory) it recreates the directory and reopens. A rotation that fails (no
    descriptor, no space, no permission) leaves the current file open and every backup in place:
    the batch is written to the current file and rotation is tried again on the next batch.

    Several processes may share one path: rotation takes an advisory lock (``fcntl.flock`` on
    ``<path>.lock``, only while rotating) and re-checks the file under it, so the file is rotated
    once per ``max_bytes`` whatever the number of writers.

    A write the filesystem refuses part-way (disk full, file size limit) never leaves a torn line:
    the partial line is cut off again, and :class:`PartialWrite` says how many whole lines made
    it, so only the rest is retried.
    """

    name = "file"

    def __init__(self, path: str | os.PathLike[str], max_bytes: int = 0, backup_count: int = 0):
        for label, value in (("max_bytes", max_bytes), ("backup_count", backup_count)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(
                    f"FileSink {label}: {value!r} is not accepted; expected an integer >= 0"
                )
        self.path = Path(path)
        self.max_bytes = max_bytes
        self.backup_count = backup_count
        #: Rotations this sink performed (rotations by other processes are not counted).
        self.rotations = 0
        self._path = os.fspath(self.path)
        self._lock_path = self._path + ".lock"
        self._fd = -1
        #: (st_dev, st_ino) of the open file: how the sink tells that ``path`` names another one.
        self._identity: tuple[int, int] = (0, 0)
        #: Descriptor of ``<path>.lock`` while this sink holds the rotation lock, else -1.
        self._lock_fd = -1
        #: A torn tail that could not be removed: the next write starts with a newline.
        self._torn = False
        self._report = RateLimited(f"sink {self.name!r}", REPORT_EVERY_S)
        self._open()

    # -- the sink protocol ---------------------------------------------------------------------

    def write(self, lines: Sequence[bytes]) -> None:
        data = b"".join(lines)
        size = self._follow_path()
        if self.max_bytes and size and size + len(data) > self.max_bytes:
            self._rotate(len(data))
        self._write_lines(data, lines)

    def flush(self) -> None:
        # Each batch went to the kernel in one os.write: there is no buffer to flush.
        pass

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def after_fork_in_child(self) -> None:
        """Drop the parent's descriptors in a forked child; the next write reopens ``path``.

        Nothing is flushed here: there is no buffer, and the parent's file state is the parent's.
        A rotation lock the parent held at the fork is released by the parent; the child only
        closes its copy of the descriptor (unlocking it here would unlock the parent).
        """
        for fd in (self._fd, self._lock_fd):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self._fd = self._lock_fd = -1
        self._torn = False

    # -- opening and following the path --------------------------------------------------------

    def _open(self) -> int:
        """Open (creating directory and file) ``path`` as the sink's file; return its size."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, _OPEN_FLAGS, 0o666)
        st = os.fstat(fd)
        old, self._fd = self._fd, fd
        self._identity = (st.st_dev, st.st_ino)
        self._torn = False
        if old >= 0:
            os.close(old)
        return st.st_size

    def _follow_path(self) -> int:
        """Make sure the open file is the one ``path`` names (reopening if not); return its size.

        One ``stat`` per batch. When reopening fails, writing goes on into the open file if it
        still has a name (it was moved, say to ``app.log.1``); a file that was deleted is not
        written to: the root error is raised instead.
        """
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            pass
        else:
            if self._fd >= 0 and (st.st_dev, st.st_ino) == self._identity:
                return st.st_size
        try:
            return self._reopen_locked() if self.max_bytes else self._open()
        except OSError as exc:
            if self._fd >= 0:
                st = os.fstat(self._fd)
                if st.st_nlink > 0:
                    self._report(
                        f"cannot reopen {self._path}: {_describe(exc)}; writing on to "
                        "the file it named before, retrying at the next batch"
                    )
                    return st.st_size
            raise

    def _reopen_locked(self) -> int:
        """Reopen under the rotation lock: another process may be between moving ``path`` away
        and creating it again, and the file it creates is the one everybody must adopt."""
        with _Locked(self):
            return self._open()

    # -- rotation ------------------------------------------------------------------------------

    def _backup(self, index: int) -> str:
        return f"{self._path}.{index}"

    def _rotate(self, incoming: int) -> None:
        try:
            with _Locked(self):
                # Another process may have rotated while this one waited for the lock.
                try:
                    st = os.stat(self._path)
                    current = (st.st_dev, st.st_ino) == self._identity
                except FileNotFoundError:
                    current = False
                if not current:
                    size = self._open()
                    if not size or size + incoming <= self.max_bytes:
                        return
                if self.backup_count:
                    self._shift_backups()
                    os.rename(self._path, self._backup(1))
                    self.rotations += 1
                    # The old file is app.log.1 now and stays open: if this open fails, writing
                    # goes on there and the next batch reopens ``path``.
                    self._open()
                else:
                    os.ftruncate(self._fd, 0)
                    self._torn = False  # a fragment left behind went with the rest
                    self.rotations += 1
        except OSError as exc:
            self._report(
                f"could not rotate {self._path}: {_describe(exc)}; writing on to the "
                "current file, retrying at the next batch"
            )

    def _shift_backups(self) -> None:
        """Make room for a new ``.1``: shift backups up to the first free index (or drop the
        oldest). A step that fails stops the shift with every backup still on disk, and the gap
        it left is reused by the next attempt, so retries never drop more than one backup."""
        free = next(
            (i for i in range(1, self.backup_count + 1) if not os.path.lexists(self._backup(i))),
            self.backup_count,
        )
        for index in range(free - 1, 0, -1):
            os.replace(self._backup(index), self._backup(index + 1))

    # -- writing -------------------------------------------------------------------------------

    def _write_whole(self, data: bytes) -> int:
        """Write all of ``data`` (a file may take it in several pieces); return bytes written
        before an error, re-raising it as ``_Stopped``."""
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except BaseException as exc:
            raise _Stopped(done, exc) from exc
        return done

    def _write_lines(self, data: bytes, lines: Sequence[bytes]) -> None:
        prefix = b"\n" if self._torn else b""  # end the fragment a failed cut left behind
        try:
            self._write_whole(prefix + data if prefix else data)
        except _Stopped as stop:
            root = stop.error
            whole, written = 0, len(prefix)
            if stop.done >= written:
                self._torn = False
            for line in lines:
                if written + len(line) > stop.done:
                    break
                written += len(line)
                whole += 1
            if stop.done > written:
                self._cut_torn_tail(stop.done - written)
            if whole:
                raise PartialWrite(
                    whole,
                    f"{whole} of {len(lines)} lines written, then {_describe(root)}",
                ) from root
            raise root from None
        self._torn = False

    def _cut_torn_tail(self, torn: int) -> None:
        """Remove the ``torn`` bytes of a partial line this sink just wrote at the end of its
        write: truncate them when nothing was appended after them, else overwrite them with
        spaces (the next line, then, is valid JSON with leading blanks). If neither works, the
        next batch starts with a newline so the fragment stands alone."""
        fd = self._fd
        try:
            end = os.lseek(fd, 0, os.SEEK_CUR)  # with O_APPEND: just past this sink's bytes
            if os.fstat(fd).st_size == end:
                os.ftruncate(fd, end - torn)
                return
            if fcntl is None:  # pragma: no cover - not POSIX
                raise OSError(errno.ENOSYS, "no fcntl")
            flags = fcntl.fcntl(fd, fcntl.F_GETFL)
            fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_APPEND)  # Linux pwrite ignores offsets
            try:
                os.pwrite(fd, b" " * torn, end - torn)
            finally:
                fcntl.fcntl(fd, fcntl.F_SETFL, flags)
        except OSError:
            self._torn = True


class _Stopped(Exception):
    def __init__(self, done: int, error: BaseException) -> None:
        super().__init__(done)
        self.done = done
        self.error = error


class _Locked:
    """The inter-process rotation lock: ``flock`` on ``<path>.lock``, held only while rotating
    or re-creating the file. The descriptor is kept on the sink while held, so that a forked
    child can close (never unlock) its copy."""

    def __init__(self, sink: FileSink) -> None:
        self.sink = sink

    def __enter__(self) -> None:
        sink = self.sink
        if fcntl is None:  # pragma: no cover - not POSIX
            return
        sink.path.parent.mkdir(parents=True, exist_ok=True)
        sink._lock_fd = os.open(sink._lock_path, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o666)
        try:
            fcntl.flock(sink._lock_fd, fcntl.LOCK_EX)
        except BaseException:
            self.__exit__()
            raise

    def __exit__(self, *exc: object) -> None:
        sink = self.sink
        fd, sink._lock_fd = sink._lock_fd, -1
        if fd >= 0:
            try:
                # Unlock explicitly: a forked child may hold a copy of this descriptor, and the
                # lock lives until the last copy is closed otherwise.
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{type(exc).__name__}: [{name}] {exc.strerror or exc}"
    return f"{type(exc).__name__}: {exc}"
