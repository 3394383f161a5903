"""A batch job killed while checking out its firework, then cancelled or rerun.

FireWorks checks a reserved firework out in two writes: the launch goes RUNNING, then the
firework. ``scancel`` landing between them leaves a RUNNING launch under a RESERVED firework,
and FireWorks' ``cancel_reservation`` of that launch inserts it a second time (the
DuplicateKeyError ``ionflow cancel`` once stopped on). Here a real rocket process on a file
LaunchPad is SIGKILLed at exactly that point, and ionflow's rescue releases the firework.
"""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
from fireworks import Firework, FWorker, ScriptTask

from ionflow.hpc.launchpad import launchpad_session
from ionflow.hpc.rescue import release_reservation
from tests.hpc.cluster import REPO, file_profile

CUT_CHECKOUT = """
import os, signal, sys
from fireworks import FWorker
from ionflow.hpc.launchpad import open_launchpad
from ionflow.hpc.profiles import ClusterProfile

lp = open_launchpad(ClusterProfile.model_validate_json(sys.argv[1]))
def killed(*args, **kwargs):  # the second write of the checkout: the batch job dies here
    os.kill(os.getpid(), signal.SIGKILL)
lp._upsert_fws = killed
lp.checkout_fw(FWorker(), launch_dir=sys.argv[2], fw_id=int(sys.argv[3]))
"""


@pytest.fixture
def reserved(tmp_path):
    """A file LaunchPad with one firework reserved for batch job 4242."""
    profile = file_profile(tmp_path / "launchpad.json", tmp_path / "results.json")
    with launchpad_session(profile) as lp:
        lp.add_wf(Firework(ScriptTask.from_str("true"), name="hop"))
        fw, launch_id = lp.reserve_fw(FWorker(), str(tmp_path))
        lp.set_reservation_id(launch_id, "4242")
    return profile, fw.fw_id, launch_id


def test_a_reservation_is_released(reserved):
    profile, fw_id, launch_id = reserved
    with launchpad_session(profile) as lp:
        assert release_reservation(lp, fw_id)
        assert lp.get_fw_by_id(fw_id).state == "READY"
        assert lp.get_launch_by_id(launch_id).state == "READY"
        assert not release_reservation(lp, fw_id)  # nothing reserved any more


def test_a_checkout_cut_by_a_kill_is_released_then_defused(reserved, tmp_path):
    profile, fw_id, launch_id = reserved
    cut = subprocess.run(
        [sys.executable, "-c", CUT_CHECKOUT, profile.model_dump_json(), str(tmp_path), str(fw_id)], cwd=REPO
    )
    assert cut.returncode == -signal.SIGKILL
    with launchpad_session(profile) as lp:
        assert lp.get_fw_by_id(fw_id).state == "RESERVED"  # the state the kill left
        assert lp.get_launch_by_id(launch_id).state == "RUNNING"
        assert release_reservation(lp, fw_id)
        assert lp.get_fw_by_id(fw_id).state == "READY"
        lp.defuse_fw(fw_id)
    with launchpad_session(profile, write=False) as lp:
        assert lp.get_fw_by_id(fw_id).state == "DEFUSED"
        assert lp.launches.count_documents({"launch_id": launch_id}) == 1  # not inserted twice
