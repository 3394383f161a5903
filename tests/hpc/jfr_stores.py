"""A maggma store whose instances share one in-process mongomock server (tests only).

jobflow-remote's queue needs MongoDB, and none can be had on the test machines. It builds a
new store (and so a new client) for every controller; sharing one mongomock ServerStore lets
``submit_flow`` and the runner in the same test process see the same queue.
"""

from __future__ import annotations

import mongomock_ng
from maggma.stores import MemoryStore
from mongomock_ng.store import ServerStore

_SERVER = ServerStore()


class SharedMemoryStore(MemoryStore):
    """A MemoryStore on the one shared in-process mongomock server."""

    def connect(self, force_reset: bool = False) -> None:
        if self._coll is None or force_reset:
            self._coll = mongomock_ng.MongoClient(_store=_SERVER)["jfr"][self.collection_name]

    def close(self) -> None:
        """Keep the shared server: closing a mongomock client would empty it."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SharedMemoryStore) and other.collection_name == self.collection_name

    def __hash__(self) -> int:
        return hash(("SharedMemoryStore", self.collection_name))
