"""The VASP NEB directory parser on real VASP OUTCARs.

The OUTCARs in ``data/vasp_outcars`` are real VASP 5 runs of a two-atom Si cell from
parsevasp's test suite (MIT licence, see LICENSE-parsevasp): one that reached the force
criterion, runs that breached NELM, one cut off mid-run and one that crashed. The band is
assembled from them: what is tested is the reading (energies, finished and converged flags,
missing and broken images), not the physics of a path; a real band (a vacancy hop in Fe) is
checked against physics in ``test_vasp_real_outputs.py``.
"""

from __future__ import annotations

import gzip
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ionflow.analysis.neb import barrier_from_vasp_neb, read_outcar_energy, read_vasp_neb
from ionflow.inputs.errors import InputError

DATA = Path(__file__).parent / "data" / "vasp_outcars"
HOP = {"host": "Si", "species": "Si", "hop_id": "test", "location": "bulk", "length": 2.35, "fingerprint": ""}


def toten(name: str) -> float:
    """Energy (sigma->0) of the last ionic step, read straight from the file's text (the
    number VTST's nebbarrier.pl and pymatgen take)."""
    with gzip.open(DATA / f"{name}.gz", "rt") as handle:
        text = handle.read()
    return float(re.findall(r"energy\(sigma->0\) =\s+(-?\d+\.\d+)", text)[-1])


def make_band(root: Path, names: list[str | None]) -> Path:
    """An NEB folder 00 ... NN with the named OUTCARs (None: folder without OUTCAR)."""
    for index, name in enumerate(names):
        folder = root / f"{index:02d}"
        folder.mkdir(parents=True)
        if name is not None:
            shutil.copy(DATA / f"{name}.gz", folder / "OUTCAR.gz")
    return root


BAND = [
    "OUTCAR.converged",
    "OUTCAR.nelm-breach-consistent",
    "OUTCAR.nelm-breach-partial",
    "OUTCAR.nelm-breach-consistent",
    "OUTCAR.converged",
]


def test_energies_along_the_band_are_the_images_final_energies(tmp_path):
    band = read_vasp_neb(make_band(tmp_path / "neb", BAND))
    assert band.energies == pytest.approx([toten(n) for n in BAND], abs=1e-8)
    assert all(band.finished)
    # the interior runs stopped at NELM without reaching EDIFFG: not a converged band
    assert band.relaxed == [True, False, False, False, True]
    assert not band.converged


def test_barrier_document_from_the_folder(tmp_path):
    doc = barrier_from_vasp_neb(make_band(tmp_path / "neb", BAND), HOP)
    top = toten("OUTCAR.nelm-breach-partial") - toten("OUTCAR.converged")
    assert doc.forward_barrier == pytest.approx(top, abs=1e-8)
    assert doc.reverse_barrier == pytest.approx(top, abs=1e-8)
    assert doc.saddle_image == 2 and doc.saddle_interior
    assert doc.delta_e == pytest.approx(0.0, abs=1e-10)
    assert not doc.converged and doc.engine == "vasp"
    assert len(doc.provenance.source_files) == 5


def test_finished_and_converged_flags_from_real_runs():
    energy, finished, reached = read_outcar_energy(DATA / "OUTCAR.converged.gz")
    assert (finished, reached) == (True, True)
    assert energy == pytest.approx(toten("OUTCAR.converged"))
    _, finished, reached = read_outcar_energy(DATA / "OUTCAR.unfinished.gz")
    assert (finished, reached) == (False, False)


def test_unfinished_image_flags_the_band(tmp_path):
    names = [*BAND]
    names[2] = "OUTCAR.unfinished"
    band = read_vasp_neb(make_band(tmp_path / "neb", names))
    assert band.finished[2] is False and not band.converged


def test_crashed_image_is_a_clear_error(tmp_path):
    names = [*BAND]
    names[1] = "OUTCAR.crashed"
    with pytest.raises(InputError, match=r"01/OUTCAR.gz: holds no energy.*fix: rerun this image"):
        read_vasp_neb(make_band(tmp_path / "neb", names))


def test_missing_image_folder_is_named(tmp_path):
    root = make_band(tmp_path / "neb", BAND)
    shutil.rmtree(root / "02")
    with pytest.raises(InputError, match=r"neb/02: image folder is missing"):
        read_vasp_neb(root)


def test_interior_image_without_outcar_is_named(tmp_path):
    names = [*BAND]
    names[3] = None
    with pytest.raises(InputError, match=r"03/OUTCAR: is missing; fix: rerun the NEB"):
        read_vasp_neb(make_band(tmp_path / "neb", names))


def test_end_points_from_their_relaxations(tmp_path):
    root = make_band(tmp_path / "neb", [None, *BAND[1:4], None])
    with pytest.raises(InputError, match=r"00/OUTCAR: is missing; fix: copy the end point"):
        read_vasp_neb(root)
    band = read_vasp_neb(root, end_energies=(-10.9, -10.8))
    assert band.energies[0] == -10.9 and band.energies[-1] == -10.8
    assert band.energies[2] == pytest.approx(toten("OUTCAR.nelm-breach-partial"))


def test_cli_reads_and_stores_a_band(tmp_path):
    root = make_band(tmp_path / "neb", BAND)
    results = tmp_path / "results.json"
    cmd = [sys.executable, "-c", "from ionflow.hpc.cli import main; main()", "parse", "neb", str(root)]
    cmd += [
        "--host",
        "Si",
        "--species",
        "Si",
        "--hop-id",
        "test",
        "--length",
        "2.35",
        "--results",
        str(results),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "image energies relative to 00" in proc.stdout and "False" in proc.stdout
    table = subprocess.run(
        [*cmd[:3], "barriers", "--results", str(results), "--format", "csv"],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert "Si,Si,test" in table and "False" in table
