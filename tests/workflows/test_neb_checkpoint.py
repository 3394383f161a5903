"""A CI-NEB band checkpointed by ASE's optimizer resumes where it stopped.

The band: the vacancy hop in fcc Cu (2x2x2 conventional cells, 31 atoms) on ASE's EMT, three
images, to 0.002 eV/Å (tens of optimizer steps). Stopped after 15 steps (the step limit stands
in for a kill: the checkpoint is the same files either way; the kill itself is
tests/hpc/test_neb_resume.py), the rerun starts from the 15th band with the optimizer's
state and reaches the fresh run's barrier with fewer force calls of its own.
"""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.inputs.hops import interpolate_idpp
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV, NebCheckpoint, resumable_steps
from ionflow.workflows.warm_start import climb_band

FMAX = 0.002
SETTINGS = {"model": "EMT", "fmax": FMAX}


@pytest.fixture(scope="module")
def band() -> list[Structure]:
    """IDPP images of a Cu vacancy hop to a nearest neighbour site."""
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    host = Structure(Lattice.cubic(3.61), ["Cu"] * 4, fcc)
    host.make_supercell((2, 2, 2))
    neighbour = min(range(1, len(host)), key=lambda i: host[0].distance(host[i]))
    initial, final = host.copy(), host.copy()
    final.replace(neighbour, "Cu", host[0].frac_coords)  # the neighbour moves into the vacancy
    initial.remove_sites([0])
    final.remove_sites([0])
    return interpolate_idpp(initial, final, 3)


@pytest.fixture(scope="module")
def fresh(band):
    return climb_band(band, "EMT", FMAX, 500)


def test_a_stopped_band_resumes_from_its_checkpoint(band, fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / "checkpoints"))
    monkeypatch.chdir(tmp_path)  # the job's launch folder: the marker goes here
    assert fresh.converged and fresh.resumed_at_step == 0
    assert fresh.force_calls > 60  # long enough that stopping at step 15 is mid-band

    stopped = climb_band(band, "EMT", FMAX, 15, checkpoint=NebCheckpoint.for_band(band, SETTINGS))
    assert not stopped.converged
    assert resumable_steps(tmp_path) == 15  # what `ionflow status` shows for a lost job

    resumed = climb_band(band, "EMT", FMAX, 500, checkpoint=NebCheckpoint.for_band(band, SETTINGS))
    assert resumed.converged and resumed.resumed_at_step == 15
    assert resumed.force_calls_before_resume == 16 * 3  # bands 0..15, three interior images each
    rerun_calls = resumed.force_calls - resumed.force_calls_before_resume
    assert rerun_calls < fresh.force_calls
    # the same saddle: a symmetric hop, the same barrier both ways and as the fresh band's
    barrier = max(resumed.energies) - resumed.energies[0]
    assert barrier == pytest.approx(max(fresh.energies) - fresh.energies[0], abs=0.01)
    assert barrier == pytest.approx(max(resumed.energies) - resumed.energies[-1], abs=0.01)
    assert not NebCheckpoint.for_band(band, SETTINGS).trajectory.exists()  # removed once done


def test_a_damaged_checkpoint_starts_the_band_afresh(band, fresh, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / "checkpoints"))
    monkeypatch.chdir(tmp_path)
    checkpoint = NebCheckpoint.for_band(band, SETTINGS)
    climb_band(band, "EMT", FMAX, 10, checkpoint=checkpoint)
    data = checkpoint.trajectory.read_bytes()
    checkpoint.trajectory.write_bytes(data[: len(data) // 3])  # cut mid-frame, as by a kill
    checkpoint.optimizer_state.write_text('{"v": [[0.1')  # cut mid-write
    again = climb_band(band, "EMT", FMAX, 500, checkpoint=checkpoint)
    assert again.converged
    barrier = max(again.energies) - again.energies[0]
    assert barrier == pytest.approx(max(fresh.energies) - fresh.energies[0], abs=0.01)


def test_no_checkpoint_is_written_unless_asked(band, tmp_path, monkeypatch):
    monkeypatch.delenv(CHECKPOINTS_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    assert NebCheckpoint.for_band(band, SETTINGS) is None
    assert list(tmp_path.iterdir()) == []
