"""custodian's handlers on a real VASP NEB folder: what they miss, and what ImageHandler sees.

The folder is a real CI-NEB (pymatgen's test suite as Debian packages it: a vacancy hop in
31-atom fcc Fe, images 00 ... 04, the interior ones with OUTCAR and CONTCAR), completed as a
running NEB has it: the run folder's INCAR with the settings its OUTCARs record, the images'
POSCARs (the IDPP band between the end points) and the logs. Its smearing is real: ISMEAR = 0,
SIGMA = 0.2 eV leaves an electronic entropy T*S of -0.64 eV per image, 21 meV/atom, twenty
times custodian's 1 meV/atom limit. VASP's error messages are written into ``vasp.out`` as VASP
prints them (custodian's table); no VASP ran here, so VASP reading the corrected INCAR is untested.
"""

from __future__ import annotations

import json
import re
import shutil
import warnings

import pytest
from custodian.vasp.handlers import (
    LargeSigmaHandler,
    NonConvergingErrorHandler,
    VaspErrorHandler,
    WalltimeHandler,
)
from jobflow import Job
from monty.json import MontyDecoder, MontyEncoder
from pymatgen.io.vasp import Incar, Poscar

from ionflow.inputs.hops import interpolate_idpp
from ionflow.workflows.neb_handlers import WALLTIME_ENV, ImageHandler, NebWalltimeHandler, neb_handlers
from ionflow.workflows.vasp import neb_maker
from tests.analysis.test_damaged_vasp_files import FILES

NEB = FILES / "neb_analysis" / "neb1" / "neb"
SLOWEST_STEP_S = 3475.7  # the largest "LOOP+ ... real time" in 01/OUTCAR


def recorded(pattern: str, image: str = "01") -> list[float]:
    """Every number the image's real OUTCAR prints after ``pattern``."""
    text = (NEB / image / "OUTCAR").read_text(errors="replace")
    return [float(x) for x in re.findall(pattern + r"\s*=\s*(-?\d+\.?\d*)", text)]


def converged_entropies(image: str) -> list[float]:
    """The electronic entropy T*S (eV) of each ionic step of the image's real OUTCAR, at the
    end of its SCF (the last EENTRO before each "aborting loop")."""
    text = (NEB / image / "OUTCAR").read_text(errors="replace")
    steps = text.split("aborting loop")[:-1]
    return [float(re.findall(r"EENTRO\s*=\s*(-?\d+\.\d*)", step)[-1]) for step in steps]


@pytest.fixture()
def neb_run(tmp_path):
    """The real NEB folder as a running NEB has it (see the module's notes)."""
    run = tmp_path / "neb"
    shutil.copytree(NEB, run, ignore=shutil.ignore_patterns("OUTCAR"))
    for image in ("00", "01", "02", "03", "04"):  # 8.6 MB each, only read: linked
        (run / image / "OUTCAR").symlink_to(NEB / image / "OUTCAR")
    ends = [Poscar.from_file(NEB / name / "POSCAR").structure for name in ("00", "04")]
    for i, image in enumerate(interpolate_idpp(*ends, 3)[1:-1], start=1):
        Poscar(image).write_file(run / f"0{i}" / "POSCAR")
    ismear, sigma = recorded("ISMEAR")[0], recorded("SIGMA")[0]
    run.joinpath("INCAR").write_text(
        f"IMAGES = 3\nIBRION = 3\nPOTIM = 0\nLCLIMB = True\nEDIFFG = -0.05\nALGO = Fast\n"
        f"ISMEAR = {int(ismear)}\nSIGMA = {sigma}\nNELM = {int(recorded('NELM')[0])}\n"
    )
    for log in ("vasp.out", "std_err.txt"):
        run.joinpath(log).write_text("")
    return run


def test_an_image_whose_smearing_is_too_large_is_seen_and_sigma_lowered(neb_run):
    assert not LargeSigmaHandler().check(str(neb_run))  # custodian on the run folder: no OUTCAR there
    handler = ImageHandler(LargeSigmaHandler())
    assert handler.check(str(neb_run)) and handler.failed_image == "01"
    atoms = len(Poscar.from_file(neb_run / "01" / "POSCAR").structure)
    entropy_per_atom = max(abs(e) for e in converged_entropies("01")) / atoms
    assert handler.handler.entropy_per_atom == pytest.approx(entropy_per_atom, rel=1e-6)
    assert 0.015 < entropy_per_atom < 0.025  # eV/atom: 0.2 eV Gaussian smearing of a metal
    images_before = {i: (neb_run / i / "POSCAR").read_text() for i in ("01", "02", "03")}

    result = handler.correct(str(neb_run))
    assert result["errors"] and all("(image 01)" in e for e in result["errors"])
    incar = Incar.from_file(neb_run / "INCAR")
    assert 0 < incar["SIGMA"] < 0.2 and incar["ISMEAR"] == 0  # the band's INCAR: smaller smearing
    assert incar["IMAGES"] == 3 and incar["LCLIMB"]  # the NEB's own settings kept
    assert not (neb_run / "01" / "INCAR").exists()  # images read the run folder's INCAR
    assert {i: (neb_run / i / "POSCAR").read_text() for i in images_before} == images_before
    for folder in ("", "01", "02", "03"):  # custodian's backup of each folder before the change
        assert (neb_run / folder / "error.1.tar.gz").is_file()


@pytest.mark.parametrize("error", ["nbands_not_sufficient", "zpotrf", "dentet", "triple_product"])
def test_vasp_errors_whose_fix_needs_an_image(neb_run, error):
    """custodian's VaspErrorHandler reads the structure (or the OUTCAR) for these fixes and
    fails on a NEB's run folder; through an image it corrects the band, or says it cannot."""
    (neb_run / "vasp.out").write_text(VaspErrorHandler.error_msgs[error][0] + "\n")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # custodian warns about some fixes
        plain = VaspErrorHandler(output_filename="vasp.out")
        assert plain.check(str(neb_run))
        with pytest.raises((AttributeError, FileNotFoundError)):
            plain.correct(str(neb_run))
        handler = ImageHandler(VaspErrorHandler(output_filename="vasp.out"))
        assert handler.check(str(neb_run))
        result = handler.correct(str(neb_run))
    incar = Incar.from_file(neb_run / "INCAR")
    assert any("(image 01)" in e for e in result["errors"])
    if error == "nbands_not_sufficient":  # read from the image's OUTCAR: never fewer bands than
        used, nelect = recorded("NBANDS")[0], recorded("NELECT")[0]  # the run used (340, for 434
        assert incar.get("NBANDS", used) >= used >= nelect / 2  # electrons: VASP's default had room)
    elif error == "zpotrf":
        assert incar["ISYM"] == 0
    elif error == "triple_product":  # a cell change must be made to every image: not done
        assert result["actions"] is None and "every image" in " ".join(result["errors"])
    assert incar["IMAGES"] == 3


def test_a_wavecar_fix_is_made_in_every_image(neb_run):
    """A file action of a fix (delete the WAVECAR) is made in every image folder."""
    for image in ("01", "02", "03"):
        (neb_run / image / "WAVECAR").write_bytes(b"wavefunctions")
    (neb_run / "vasp.out").write_text(VaspErrorHandler.error_msgs["coef"][0] + "\n")
    handler = ImageHandler(VaspErrorHandler(output_filename="vasp.out"))
    assert handler.check(str(neb_run))
    handler.correct(str(neb_run))
    assert not any((neb_run / image / "WAVECAR").exists() for image in ("01", "02", "03"))


def test_converged_images_raise_nothing(neb_run):
    """The recorded images converged their SCF well inside NELM and have negative energies:
    the image-wise SCF handlers stay quiet (the walltime one only near the walltime)."""
    for image in ("01", "02", "03"):
        (neb_run / image / "OSZICAR").symlink_to(FILES / "OSZICAR")  # a real converged relaxation's
    assert not ImageHandler(NonConvergingErrorHandler()).check(str(neb_run))
    quiet = [h for h in neb_handlers() if not isinstance(getattr(h, "handler", None), LargeSigmaHandler)]
    for handler in quiet:
        assert not handler.check(str(neb_run)), handler


def test_custodians_walltime_handler_cannot_see_a_neb_and_ionflows_stops_it(neb_run):
    wall = int(3 * SLOWEST_STEP_S) - 100  # less time left than three of its slowest steps
    assert not WalltimeHandler(wall_time=wall).check(str(neb_run))  # no OUTCAR in the run folder
    assert NebWalltimeHandler(wall_time=wall).check(str(neb_run))
    assert not NebWalltimeHandler(wall_time=wall + 1000).check(str(neb_run))
    NebWalltimeHandler(wall_time=wall).correct(str(neb_run))
    for folder in ("", "01", "02", "03"):  # VASP finishes the ionic step and writes CONTCARs
        assert "LSTOP = .TRUE." in (neb_run / folder / "STOPCAR").read_text()
    assert not (neb_run / "00" / "STOPCAR").exists() and not (neb_run / "04" / "STOPCAR").exists()


def test_the_batch_jobs_walltime_reaches_the_handler(monkeypatch):
    monkeypatch.setenv(WALLTIME_ENV, "7200")
    assert NebWalltimeHandler().wall_time == 7200


def test_the_vasp_neb_job_carries_the_neb_handlers(monkeypatch):
    ends = [Poscar.from_file(NEB / name / "POSCAR").structure for name in ("00", "04")]
    neb = neb_maker(ends[0], 3).make(interpolate_idpp(*ends, 3))
    assert isinstance(neb, Job)
    # as the batch job gets it: serialized in the workflow, rebuilt there
    monkeypatch.setenv(WALLTIME_ENV, "86400")
    rebuilt = json_round_trip(neb)
    handlers = rebuilt.maker.run_vasp_kwargs["handlers"]
    inner = [type(getattr(h, "handler", h)).__name__ for h in handlers]
    assert inner == [
        "VaspErrorHandler",
        "StdErrHandler",
        "NonConvergingErrorHandler",
        "PositiveEnergyErrorHandler",
        "LargeSigmaHandler",
        "FrozenJobErrorHandler",
        "NebWalltimeHandler",
    ]
    assert all(isinstance(h, ImageHandler) for h in handlers[:-1])
    assert isinstance(handlers[-1], NebWalltimeHandler) and handlers[-1].wall_time == 86400


def json_round_trip(job: Job) -> Job:
    return json.loads(json.dumps(job.as_dict(), cls=MontyEncoder), cls=MontyDecoder)
