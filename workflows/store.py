"""The results database: a maggma store, a JSON file on disk by default, MongoDB with a URI.

The file store writes atomically (temporary file, then one rename) under a file lock and
re-reads the file before every update, so concurrent processes merge instead of
overwriting each other, and a crash mid-write leaves the previous file intact. Results are
upserted by ``result_id``: the same result stored twice is one document.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson
from maggma.core import Store
from maggma.stores import JSONStore, MemoryStore, MongoURIStore
from pydantic import BaseModel

from ionflow.inputs.errors import InputError

DEFAULT_RESULTS = Path("ionflow-results.json")
ENV_RESULTS = "IONFLOW_RESULTS"
"""Environment variable: a file path, or a ``mongodb://`` / ``mongodb+srv://`` URI."""


class ResultsFileStore(JSONStore):
    """A JSON-file maggma store with atomic, locked, merging writes.

    ``key`` is ``result_id`` for result documents; jobflow's job-output store uses ``uuid``.
    """

    def __init__(self, path: str | Path, key: str = "result_id", **kwargs) -> None:
        kwargs.pop("paths", None)
        kwargs.pop("read_only", None)
        super().__init__(str(path), read_only=False, key=key, **kwargs)
        self._lock_depth = 0
        self._lock_file = None
        self._loading = False

    def as_dict(self) -> dict:
        """Serializable description (jobflow sends the store to cluster jobs this way)."""
        d = super().as_dict()
        d["path"] = str(self.path)
        return d

    @property
    def path(self) -> Path:
        """The JSON file."""
        return Path(self.paths[0])

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if self._lock_depth == 0:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_file = open(f"{self.path}.lock", "w")  # noqa: SIM115 - held across the block
            fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        self._lock_depth += 1
        try:
            yield
        finally:
            self._lock_depth -= 1
            if self._lock_depth == 0 and self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None

    def connect(self, force_reset: bool = False) -> None:
        """(Re)load the file, on every connect: the file is the truth, and a closed in-memory
        client cannot be reused. A damaged file is an error, never silently replaced."""
        with self._locked():
            if self.path.exists():
                try:
                    orjson.loads(self.path.read_bytes())
                except orjson.JSONDecodeError:
                    raise InputError(
                        str(self.path),
                        "is not a valid results file (damaged or not JSON)",
                        f"restore it or move it away; or point {ENV_RESULTS} at another file",
                    ) from None
            self._loading = True
            try:
                super().connect(force_reset=True)
            finally:
                self._loading = False

    def update(self, docs: list[dict] | dict, key: list | str | None = None) -> None:
        """Upsert ``docs`` after re-reading the file, then write it back atomically."""
        if self._loading:  # filling the in-memory copy from the file
            MemoryStore.update(self, docs, key)
            return
        with self._locked():
            self.connect(force_reset=True)
            super().update(docs, key)

    def _file_mode(self) -> int:
        """The results file keeps its mode; a new one gets the usual 0666 less the umask."""
        if self.path.exists():
            return self.path.stat().st_mode & 0o777
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask

    def update_json_file(self) -> None:
        """Write all documents to a temporary file and rename it over the store file."""
        data = list(self.query())
        for doc in data:
            doc.pop("_id", None)
        payload = orjson.dumps(data, option=self.serialization_option, default=self.serialization_default)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, self._file_mode())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


def results_store(location: str | Path | None = None) -> Store:
    """The results store: ``location``, else ``$IONFLOW_RESULTS``, else ``./ionflow-results.json``.

    A ``mongodb://`` or ``mongodb+srv://`` URI gives a MongoDB store (database ``ionflow``,
    collection ``results``).
    """
    where = str(location or os.environ.get(ENV_RESULTS) or DEFAULT_RESULTS)
    if where.startswith(("mongodb://", "mongodb+srv://")):
        return MongoURIStore(where, collection_name="results", database="ionflow", key="result_id")
    return ResultsFileStore(where)


def save_results(store: Store, docs: Iterable[BaseModel]) -> int:
    """Upsert result documents into ``store`` (keyed by their ``result_id``); return how many."""
    rows = [
        {"result_id": d.result_id, "doc_type": type(d).__name__, **d.model_dump(mode="json")} for d in docs
    ]  # type: ignore[attr-defined]
    store.connect()
    try:
        if rows:
            store.update(rows, key="result_id")
    finally:
        store.close()
    return len(rows)
