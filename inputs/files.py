"""Files that several processes share: written atomically, locked briefly, never half-written.

A write goes to a temporary file beside the target, is flushed to disk, and replaces the
target in one ``rename``: a kill at any moment leaves the old file or the new one, never a
mix. A temporary left by a killed writer is removed by the next writer (it holds the lock, so
no other writer can own one).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from ionflow.inputs.errors import InputError

SECRET_MODE = 0o600
"""Mode of files that can hold credentials: the owner alone reads them."""


def _temporaries(path: Path) -> list[Path]:
    return list(path.parent.glob(f".{path.name}.*.tmp"))


def atomic_write(path: Path, data: bytes, mode: int | None = None) -> None:
    """Replace ``path`` by ``data`` in one rename; ``mode``: the new file's permission bits
    (default: the old file's, else 0666 less the umask). Call it holding the file's lock."""
    path = Path(path)
    for stale in _temporaries(path):  # left by a writer killed mid-write
        stale.unlink(missing_ok=True)
    if mode is None:
        if path.exists():
            mode = path.stat().st_mode & 0o777
        else:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    with contextlib.suppress(OSError):  # the rename itself reaches the disk
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


@contextlib.contextmanager
def exclusive_lock(lock_path: Path, what: str, timeout_s: float = 600.0) -> Iterator[None]:
    """Hold ``lock_path`` exclusively (``flock``: released by the kernel if the holder dies).

    Holders keep it for one read-modify-write, so waits are short; after 2 s the wait is said
    on stderr, and after ``timeout_s`` it is an :class:`InputError`.
    """
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        start, said = time.monotonic(), False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited > timeout_s:
                    raise InputError(
                        str(lock_path),
                        f"{what} stayed locked for {timeout_s:.0f} s",
                        "look for a hung ionflow process (`fuser -v` on the lock file) and stop it",
                    ) from None
                if waited > 2 and not said:
                    print(f"waiting for {what} ({lock_path})", file=sys.stderr)
                    said = True
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
