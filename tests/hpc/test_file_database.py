"""The file database under the file LaunchPad: what one process writes another sees, an
operation is atomic across processes, a failed transaction changes nothing, and closing a
client loses nothing."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ionflow.hpc.filedb import FileDatabase
from tests.hpc.cluster import REPO


def collection(db: FileDatabase, name: str = "things"):
    return db.synced(db.client["ionflow"][name])


def test_what_one_instance_writes_the_other_reads(tmp_path):
    first, second = FileDatabase(tmp_path / "db.json"), FileDatabase(tmp_path / "db.json")
    collection(first).insert_one({"_id": 1, "x": "a"})
    assert collection(second).find_one({"_id": 1})["x"] == "a"
    collection(second).update_one({"_id": 1}, {"$set": {"x": "b"}})
    assert collection(first).find_one({"_id": 1})["x"] == "b"
    collection(second).drop()
    assert collection(first).count_documents({}) == 0


def test_failed_transaction_leaves_the_file_as_it_was(tmp_path):
    db = FileDatabase(tmp_path / "db.json")
    collection(db).insert_one({"_id": 1})
    before = (tmp_path / "db.json").read_bytes()
    with pytest.raises(RuntimeError), db.transaction():
        collection(db).insert_one({"_id": 2})
        raise RuntimeError("the command failed midway")
    assert (tmp_path / "db.json").read_bytes() == before
    assert [d["_id"] for d in collection(db).find()] == [1]  # the in-memory copy is the file's again


def test_closing_a_client_keeps_the_data(tmp_path):
    db = FileDatabase(tmp_path / "db.json")
    one, two = db.new_client(), db.new_client()
    one["ionflow"]["things"].insert_one({"_id": 1})
    one.close()  # mongomock's own close would empty the server, and the next write the file
    two["ionflow"]["things"].insert_one({"_id": 2})
    fresh = FileDatabase(tmp_path / "db.json")
    assert sorted(d["_id"] for d in collection(fresh).find()) == [1, 2]


def test_reading_a_missing_file_creates_nothing(tmp_path):
    db = FileDatabase(tmp_path / "none.json")
    assert collection(db).count_documents({}) == 0
    assert not (tmp_path / "none.json").exists()


def test_damaged_file_is_one_clear_error(tmp_path):
    from ionflow.inputs.errors import InputError

    (tmp_path / "db.json").write_text('{"ionflow": {"fireworks": ')
    with pytest.raises(InputError, match=r"db.json: is not a readable LaunchPad file.*fix: restore"):
        collection(FileDatabase(tmp_path / "db.json")).find_one({})


@pytest.mark.parametrize("processes", [4])
def test_concurrent_launchpad_writers_lose_no_update(tmp_path, processes):
    """FireWorks' atomic counter (find_one_and_update) stays atomic across processes."""
    script = """
import sys
from ionflow.hpc.filedb import FileDatabase
db = FileDatabase(sys.argv[1])
counter = db.synced(db.client["ionflow"]["counter"])
for _ in range(40):
    counter.find_one_and_update({"_id": "n"}, {"$inc": {"value": 1}}, upsert=True)
"""
    target = tmp_path / "db.json"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, str(target)], cwd=REPO) for _ in range(processes)
    ]
    assert all(p.wait(timeout=600) == 0 for p in procs)
    assert collection(FileDatabase(target), "counter").find_one({"_id": "n"})["value"] == 40 * processes
