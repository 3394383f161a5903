"""VASP CI-NEB on a cluster: the rerun that resumes it (its handlers: ``test_neb_handlers.py``).

On a real VASP NEB folder (pymatgen's test suite as Debian packages it, ``pymatgen-test-files``:
a CI-NEB of a vacancy hop in 31-atom fcc Fe, images 00 ... 04, the interior ones with OUTCAR
and CONTCAR; its ionic steps took 1400-3500 s each). Untested here: VASP itself writing
the CONTCARs a rerun starts from (no VASP on these machines).
"""

from __future__ import annotations

import shutil

import pytest
from pymatgen.io.vasp import Poscar

from ionflow.inputs.hops import interpolate_idpp
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV, resumable_steps
from ionflow.workflows.vasp_neb import finished, resumed_images
from tests.analysis.test_damaged_vasp_files import FILES

NEB = FILES / "neb_analysis" / "neb1" / "neb"
INCAR = {"IMAGES": 3, "IBRION": 3, "POTIM": 0, "LCLIMB": True, "EDIFFG": -0.05}


@pytest.fixture()
def killed_run(tmp_path):
    """A copy of the real NEB folder as a killed run leaves it, with its INCAR and logs."""
    run = tmp_path / "killed"
    shutil.copytree(NEB, run)
    run.joinpath("INCAR").write_text("\n".join(f"{k} = {v}" for k, v in INCAR.items()) + "\n")
    for log in ("vasp.out", "std_err.txt"):
        run.joinpath(log).write_text("")
    return run


def test_a_rerun_starts_from_the_killed_runs_images(killed_run, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / "checkpoints"))
    ends = [Poscar.from_file(NEB / name / "POSCAR").structure for name in ("00", "04")]
    band = interpolate_idpp(*ends, 3)
    monkeypatch.chdir(killed_run)  # the first run: starts from IDPP, leaves its pointer
    first, steps = resumed_images(band, INCAR)
    assert first == band and steps == 0
    assert resumable_steps(killed_run) == 11  # `ionflow status` on the lost job: its ionic steps

    rerun = tmp_path / "rerun"
    rerun.mkdir()
    monkeypatch.chdir(rerun)
    start, steps = resumed_images(band, INCAR)
    assert steps == 11
    assert start[0] == ends[0] and start[-1] == ends[1]
    for i in (1, 2, 3):
        contcar = Poscar.from_file(killed_run / f"0{i}" / "CONTCAR").structure
        assert start[i] == contcar and start[i] != band[i]
    finished(band, INCAR)  # done: the next run of this band starts afresh
    monkeypatch.chdir(tmp_path)
    assert resumed_images(band, INCAR) == (band, 0)


def test_a_cut_contcar_starts_from_the_band(killed_run, tmp_path, monkeypatch):
    monkeypatch.setenv(CHECKPOINTS_ENV, str(tmp_path / "checkpoints"))
    ends = [Poscar.from_file(NEB / name / "POSCAR").structure for name in ("00", "04")]
    band = interpolate_idpp(*ends, 3)
    monkeypatch.chdir(killed_run)
    resumed_images(band, INCAR)
    text = (killed_run / "02" / "CONTCAR").read_text()
    (killed_run / "02" / "CONTCAR").write_text(text[: len(text) // 2])  # the kill cut it
    monkeypatch.chdir(tmp_path)
    assert resumed_images(band, INCAR) == (band, 0)
