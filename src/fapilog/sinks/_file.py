"""``FileSink``: JSON lines appended to a file, with size-based rotation."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


class FileSink:
    """Appends JSON lines to ``path``, creating its directory.

    With ``max_bytes > 0`` the file is rotated before a batch would push it past ``max_bytes``:
    ``app.log`` becomes ``app.log.1``, ``app.log.1`` becomes ``app.log.2``, … up to
    ``backup_count`` backups (the oldest is removed). A batch is never split across files, so every
    file holds whole lines; a single batch larger than ``max_bytes`` gets a file of its own.
    ``backup_count=0`` keeps no backups: rotation starts the file afresh.
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
        self.rotations = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "ab")  # noqa: SIM115 - held open for the sink's lifetime
        self._size = self._file.tell()

    def write(self, lines: Sequence[bytes]) -> None:
        data = b"".join(lines)
        if self.max_bytes and self._size and self._size + len(data) > self.max_bytes:
            self._rotate()
        self._file.write(data)
        self._size += len(data)

    def _rotate(self) -> None:
        self._file.close()
        if self.backup_count:
            for index in range(self.backup_count - 1, 0, -1):
                older = self.path.with_name(f"{self.path.name}.{index}")
                if older.exists():
                    os.replace(older, self.path.with_name(f"{self.path.name}.{index + 1}"))
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
            self._file = open(self.path, "ab")  # noqa: SIM115
        else:
            self._file = open(self.path, "wb")  # noqa: SIM115
        self._size = 0
        self.rotations += 1

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.flush()
            self._file.close()
