"""GPAW as the NEB engine (``ionflow run barriers HOST --engine gpaw``): real DFT end points and
CI-NEB on a small cell, the document's DFT settings, calls and wall time, and the cells and
options GPAW cannot take, refused before any job runs.

The cell is fcc Li with one vacancy in its 4-atom conventional cell, plane waves at 200 eV,
Γ only: far from converged (the vacancy sees its images 4.3 Å away, one k-point for a metal),
chosen so that a whole CI-NEB runs in under a minute; what is checked is what holds on any
cell, the symmetry of a hop between two equivalent vacancy sites.
"""

from __future__ import annotations

import json

import pytest
from pymatgen.core import Lattice, Structure

from tests.cli import ionflow
from tests.test_bad_input import files_under, one_line_error

FCC = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
SMALL_DFT = "mode=pw,ecut=200,kspacing=1.5"
"""Plane waves (faster than LCAO on a cell this small), Γ only on the 4.33 Å cell."""


def write_fcc(folder, name: str, species: list[str], a: float) -> str:
    Structure(Lattice.cubic(a), species, FCC).to(filename=str(folder / name))
    return name


def test_gpaw_barrier_of_a_symmetric_vacancy_hop(tmp_path):
    host = write_fcc(tmp_path, "Li.cif", ["Li"] * 4, 4.33)
    options = ["--species", "Li", "--engine", "gpaw", "--images", "1", "--min-length", "4"]
    run = [*options, "--dft", SMALL_DFT, "--results", "r.json", "--work-dir", "runs"]
    proc = ionflow("run", "barriers", host, *run, cwd=tmp_path, timeout=900)  # ~50 s on an idle machine
    assert proc.returncode == 0, proc.stderr
    assert "gpaw:pw-200eV/PBE" in proc.stdout  # the table names the DFT that made the row
    stored = json.loads((tmp_path / "r.json").read_text())
    (doc,) = [d for d in stored if d["doc_type"] == "MigrationBarrierDoc"]
    # physics: the two end points are the same vacancy by symmetry, so the hop is symmetric
    assert doc["converged"]
    assert abs(doc["delta_e"]) < 0.005
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.005)
    assert doc["forward_barrier"] > 0.02  # a saddle between two minima, not a flat line
    assert doc["saddle_interior"]
    # what the document records of the DFT: its settings, every call and the wall time
    assert doc["engine"] == "gpaw:pw-200eV/PBE"
    assert doc["settings"]["dft"] | {"mode": "pw", "ecut": 200.0, "kspacing": 1.5} == doc["settings"]["dft"]
    assert doc["force_calls"] >= 3 and doc["wall_time_s"] > 0
    # a rerun finds the hop stored and runs nothing
    again = ionflow("run", "barriers", host, *run, cwd=tmp_path)
    assert again.returncode == 0 and "skipped 1 flows already stored" in again.stdout


@pytest.mark.parametrize(
    ("host", "options", "words"),
    [
        # an element without a PAW setup in the installed gpaw-data (Tc has none)
        (("AgTc.cif", ["Ag", "Ag", "Ag", "Tc"], 4.16), [], ["Tc", "no GPAW PBE setup"]),
        # the 4-atom cell itself: kspacing 0.5 asks a 4x4x4 mesh, above max_kpoints 8
        (("Ag.cif", ["Ag"] * 4, 4.16), ["--min-length", "3"], ["cell", "4x4x4 mesh", "--min-length"]),
        (("Ag.cif", ["Ag"] * 4, 4.16), ["--model", "SevenNet"], ["--model SevenNet", "leave --model out"]),
        (("Ag.cif", ["Ag"] * 4, 4.16), ["--dft", "mode=pv"], ["--dft", "mode", "'lcao' or 'pw'"]),
        (("Ag.cif", ["Ag"] * 4, 4.16), ["--dft", "modepw"], ["--dft", "not KEY=VALUE"]),
    ],
)
def test_what_gpaw_cannot_run_is_one_line_before_any_job(tmp_path, host, options, words):
    name = write_fcc(tmp_path, *host)
    before = files_under(tmp_path)
    proc = ionflow(
        "run", "barriers", name, "--species", "Ag", "--engine", "gpaw", *options, "--results", "r.json",
        cwd=tmp_path,
    )  # fmt: skip
    one_line_error(proc, *words)
    assert files_under(tmp_path) == before


def test_gpaw_options_on_engines_that_do_not_take_them(tmp_path):
    name = write_fcc(tmp_path, "Ag.cif", ["Ag"] * 4, 4.16)
    before = files_under(tmp_path)
    proc = ionflow("run", "barriers", name, "--species", "Ag", "--model", "GPAW", cwd=tmp_path)
    one_line_error(proc, "--model GPAW", "use --engine gpaw")
    options = ["--species", "Ag", "--dft", "mode=pw", "--results", "r.json"]
    proc = ionflow("run", "barriers", name, *options, cwd=tmp_path)
    one_line_error(proc, "--dft", "--engine embedded", "add --engine gpaw")
    proc = ionflow("run", "charges", name, "--engine", "gpaw", "--results", "r.json", cwd=tmp_path)
    one_line_error(proc, "--engine gpaw", "barriers only")
    assert files_under(tmp_path) == before
