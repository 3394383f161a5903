"""VASP CI-NEB on a cluster: custodian handlers that see a NEB, and the rerun that resumes it.

On a real VASP NEB folder (pymatgen's test suite as Debian packages it, ``pymatgen-test-files``:
a CI-NEB of a vacancy hop in 31-atom fcc Fe, images 00 ... 04, the interior ones with OUTCAR
and CONTCAR; its ionic steps took 1400-3500 s each). Untested here: VASP itself reading the
STOPCAR and the CONTCARs it writes then (no VASP on these machines).
"""

from __future__ import annotations

import json
import shutil

import pytest
from custodian.vasp.handlers import WalltimeHandler
from jobflow import Job
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.io.vasp import Poscar

from ionflow.inputs.hops import interpolate_idpp
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV, resumable_steps
from ionflow.workflows.vasp import neb_maker
from ionflow.workflows.vasp_neb import (
    WALLTIME_ENV,
    NebWalltimeHandler,
    finished,
    neb_handlers,
    resumed_images,
)
from tests.analysis.test_damaged_vasp_files import FILES

NEB = FILES / "neb_analysis" / "neb1" / "neb"
INCAR = {"IMAGES": 3, "IBRION": 3, "POTIM": 0, "LCLIMB": True, "EDIFFG": -0.05}
SLOWEST_STEP_S = 3475.7  # the largest "LOOP+ ... real time" in 01/OUTCAR


@pytest.fixture()
def killed_run(tmp_path):
    """A copy of the real NEB folder as a killed run leaves it, with its INCAR and logs."""
    run = tmp_path / "killed"
    shutil.copytree(NEB, run)
    run.joinpath("INCAR").write_text("\n".join(f"{k} = {v}" for k, v in INCAR.items()) + "\n")
    for log in ("vasp.out", "std_err.txt"):
        run.joinpath(log).write_text("")
    return run


def test_custodians_walltime_handler_cannot_see_a_neb_and_ionflows_stops_it(killed_run):
    wall = int(3 * SLOWEST_STEP_S) - 100  # less time left than three of its slowest steps
    assert not WalltimeHandler(wall_time=wall).check(str(killed_run))  # no OUTCAR in the run folder
    assert NebWalltimeHandler(wall_time=wall).check(str(killed_run))
    assert not NebWalltimeHandler(wall_time=wall + 1000).check(str(killed_run))
    NebWalltimeHandler(wall_time=wall).correct(str(killed_run))
    for folder in ("", "01", "02", "03"):  # VASP finishes the ionic step and writes CONTCARs
        assert "LSTOP = .TRUE." in (killed_run / folder / "STOPCAR").read_text()
    assert not (killed_run / "00" / "STOPCAR").exists() and not (killed_run / "04" / "STOPCAR").exists()


def test_every_neb_handler_reads_a_real_neb_folder(killed_run, monkeypatch):
    monkeypatch.chdir(killed_run)
    for handler in neb_handlers():
        assert handler.check(str(killed_run)) in (False, None), type(handler).__name__


def test_the_batch_jobs_walltime_reaches_the_handler(monkeypatch):
    monkeypatch.setenv(WALLTIME_ENV, "7200")
    assert NebWalltimeHandler().wall_time == 7200


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


def test_the_vasp_neb_job_carries_the_neb_handlers(monkeypatch):
    ends = [Poscar.from_file(NEB / name / "POSCAR").structure for name in ("00", "04")]
    neb = neb_maker(ends[0], 3).make(interpolate_idpp(*ends, 3))
    assert isinstance(neb, Job)
    # as the batch job gets it: serialized in the workflow, rebuilt there
    monkeypatch.setenv(WALLTIME_ENV, "86400")
    rebuilt = json.loads(json.dumps(neb.as_dict(), cls=MontyEncoder), cls=MontyDecoder)
    handlers = rebuilt.maker.run_vasp_kwargs["handlers"]
    names = [type(h).__name__ for h in handlers]
    assert names == ["VaspErrorHandler", "StdErrHandler", "FrozenJobErrorHandler", "NebWalltimeHandler"]
    assert handlers[-1].wall_time == 86400
