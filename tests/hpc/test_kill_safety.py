"""Nothing lost, ever: processes writing the LaunchPad file and the results file are killed
with SIGKILL at every point of a write, and every write they had finished is still there,
the files readable, no temporary left once the next writer has run.

The writers run ionflow's own code with the file-system calls of ``ionflow.inputs.files``
wrapped so that each announces where it is (``at created``, ``at half-written``, ``at fsync``,
``at replace``, ``at replaced``, ``at dir-fsync``) and pauses briefly there; the test kills
the writer at one of these points of its second write, a different point each run. Each
writer acknowledges a write on stdout only after it returned.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from tests.hpc.cluster import REPO, file_profile

POINTS = ("created", "half-written", "fsync", "replace", "replaced", "dir-fsync")
MIDWAY = ("created", "half-written", "fsync", "replace")
"""Points at which the temporary file exists and the target is still the old file."""

INSTRUMENT = """
import os as real_os, sys, time
import ionflow.inputs.files as files

def point(name):
    print("at", name, flush=True)
    time.sleep(0.1)

class Half:
    def __init__(self, handle):
        self.handle = handle
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)
    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        point("half-written")
        self.handle.write(data[len(data) // 2 :])
    def __getattr__(self, name):
        return getattr(self.handle, name)

class Os:
    def __getattr__(self, name):
        return getattr(real_os, name)
    def fchmod(self, fd, mode):
        point("created")
        real_os.fchmod(fd, mode)
    def fdopen(self, fd, mode):
        return Half(real_os.fdopen(fd, mode))
    def fsync(self, fd):
        point("fsync" if not real_os.path.isdir(f"/proc/self/fd/{fd}") else "dir-fsync")
        real_os.fsync(fd)
    def replace(self, src, dst):
        point("replace")
        real_os.replace(src, dst)
        point("replaced")

files.os = Os()
"""

LAUNCHPAD_WRITER = (
    INSTRUMENT
    + """
from fireworks import Firework, ScriptTask
from ionflow.hpc.launchpad import launchpad_session
from ionflow.hpc.profiles import ClusterProfile
profile = ClusterProfile(scheduler="slurm", account="a", partition="p", walltime="00:10:00",
                         launchpad="file:" + sys.argv[1], results=sys.argv[1] + ".results.json")
tag = sys.argv[2]
for i in range(3):
    with launchpad_session(profile) as lp:
        lp.add_wf(Firework(ScriptTask.from_str("true"), name=f"{tag}-{i}"))
    print("ack", f"{tag}-{i}", flush=True)
"""
)

RESULTS_WRITER = (
    INSTRUMENT
    + """
from ionflow.analysis.store import results_store
store = results_store(sys.argv[1])
tag = sys.argv[2]
for i in range(3):
    store.update([{"result_id": f"{tag}-{i}", "doc_type": "Test", "x": i}], key="result_id")
    print("ack", f"{tag}-{i}", flush=True)
"""
)


def kill_at_every_point(script: str, target: Path) -> tuple[list[str], list[str]]:
    """Run the writer once per point of a write, killing it there in its second write.

    Returns the names it acknowledged and the points at which a temporary was left."""
    acknowledged: list[str] = []
    left_temporary: list[str] = []
    for k, where in enumerate(POINTS):
        proc = subprocess.Popen(
            [sys.executable, "-c", script, str(target), f"w{k}"], stdout=subprocess.PIPE, text=True, cwd=REPO
        )
        writes = 0
        for line in proc.stdout:
            said = line.split()
            if said[0] == "ack":
                acknowledged.append(said[1])
                writes += 1
            elif said == ["at", where] and writes == 1:
                proc.send_signal(signal.SIGKILL)
                break
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, f"the writer was not killed at {where}"
        if list(target.parent.glob(f".{target.name}.*.tmp")):
            left_temporary.append(where)
    return acknowledged, left_temporary


def test_launchpad_file_survives_kills_mid_write(tmp_path):
    from fireworks import Firework, ScriptTask

    from ionflow.hpc.launchpad import launchpad_session

    target = tmp_path / "launchpad.json"
    profile = file_profile(target, tmp_path / "r.json")
    with launchpad_session(profile) as lp:  # a LaunchPad with work in it before the kills
        fw = Firework(ScriptTask.from_str("true"), name="ballast", spec={"ballast": "x" * 100_000})
        lp.add_wf(fw)
    acknowledged, left = kill_at_every_point(LAUNCHPAD_WRITER, target)
    with launchpad_session(profile, write=False) as lp:
        names = {d["name"] for d in lp.fireworks.find({}, {"name": 1})}
        assert lp.get_fw_by_id(1).name == "ballast"
    missing = [a for a in acknowledged if a not in names]
    assert missing == [], f"finished writes lost: {missing}"
    assert len(acknowledged) == len(POINTS)  # one finished write per run, then the kill
    assert left == list(MIDWAY)  # the kills before the rename did catch a write half done
    with launchpad_session(profile) as lp:  # the next writer clears what a killed one left
        lp.add_wf(Firework(ScriptTask.from_str("true"), name="after"))
    assert not list(tmp_path.glob(".launchpad.json.*.tmp"))
    assert target.stat().st_mode & 0o777 == 0o600


def test_results_file_survives_kills_mid_write(tmp_path):
    target = tmp_path / "results.json"
    ballast = [{"result_id": f"ballast-{i}", "doc_type": "Test", "x": "y" * 1000} for i in range(30)]
    target.write_text(json.dumps(ballast))
    acknowledged, left = kill_at_every_point(RESULTS_WRITER, target)
    stored = {d["result_id"] for d in json.loads(target.read_text())}
    missing = [a for a in acknowledged if a not in stored]
    assert missing == [], f"finished writes lost: {missing}"
    assert all(f"ballast-{i}" in stored for i in range(30))
    assert len(acknowledged) == len(POINTS)
    assert left == list(MIDWAY)
    from ionflow.analysis.store import results_store, save_results  # the next writer cleans up

    assert save_results(results_store(target), []) == 0
    store = results_store(target)
    store.update([{"result_id": "after", "doc_type": "Test"}], key="result_id")
    assert not list(tmp_path.glob(".results.json.*.tmp"))
