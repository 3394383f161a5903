"""Bader, potential and NEB parsing on real VASP output files, checked against physics.

The files are pymatgen's test suite (MIT licence) as Debian packages it: ``pymatgen-test-files``
(``/usr/share/doc/pymatgen-test-files/copyright``), installed by ``.ci/run``. Used here:

- ``bader/``: Fe3O4 (Fe6O8 primitive cell, Fe_pv and O PAW: 6x14 + 8x6 = 132 valence
  electrons) CHGCAR, AECCAR0, AECCAR2, gzipped as atomate2 leaves them;
- ``LOCPOT``: bcc Li, one atom at the origin;
- ``surface_tests/LOCPOT.gz`` and ``OUTCAR.relax1.gz``: a nine-layer Dy slab with ~30 Å of vacuum;
- ``neb_analysis/neb1/neb``: a CI-NEB of a vacancy hop in 31-atom fcc Fe, 00 ... 04 with OUTCARs.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ionflow.analysis.bader import bader_from_vasp, read_acf
from ionflow.analysis.neb import barrier_from_vasp_neb, hop_length_from_poscars, read_vasp_neb
from ionflow.analysis.potential import planar_average, read_locpot
from ionflow.analysis.vasp_files import run_cost, valence_electrons
from ionflow.inputs.errors import InputError
from tests.cli import ionflow, one_line_error

FILES = Path("/usr/share/doc/pymatgen-test-files/examples/test_files")
if not FILES.is_dir():
    if os.environ.get("CI"):
        pytest.fail("pymatgen-test-files is not installed: .ci/run must install it", pytrace=False)
    pytest.skip("real VASP outputs: apt-get install pymatgen-test-files", allow_module_level=True)

FE3O4_VALENCE = {"Fe": 14.0, "O": 6.0}  # Fe_pv, O: the CHGCAR's 132 electrons = 6*14 + 8*6
NEB = FILES / "neb_analysis" / "neb1" / "neb"
HOP = {"host": "Fe31", "species": "Fe", "hop_id": "vac", "location": "bulk", "length": 0.0, "fingerprint": ""}


@pytest.fixture(scope="module")
def fe3o4(tmp_path_factory) -> Path:
    """The Fe3O4 static run's density files, gzipped, in a run folder of their own."""
    folder = tmp_path_factory.mktemp("fe3o4")
    for name in ("CHGCAR", "AECCAR0", "AECCAR2"):
        (folder / f"{name}.gz").symlink_to(FILES / "bader" / f"{name}.gz")
    return folder


def test_bader_on_a_real_vasp_density_conserves_charge_and_makes_oxygen_an_anion(fe3o4):
    structure, partition = bader_from_vasp(fe3o4)
    species = [s.specie.symbol for s in structure]
    assert species.count("Fe") == 6 and species.count("O") == 8
    expected = sum(FE3O4_VALENCE[s] for s in species)
    assert partition.total_electrons == pytest.approx(expected, rel=0.01)
    assert "AECCAR0+AECCAR2" in partition.method
    net = np.array([FE3O4_VALENCE[s] for s in species]) - partition.electrons
    fe, o = net[[s == "Fe" for s in species]], net[[s == "O" for s in species]]
    assert (fe > 0.5).all() and (o < -0.5).all()  # Fe cations, O anions
    assert net.sum() == pytest.approx(0.0, abs=0.05)  # the cell is neutral
    # Bader O in transition-metal oxides: about -1.0 to -1.4 e, never the formal -2
    assert -1.6 < o.mean() < -0.9


def test_bader_without_the_all_electron_files_uses_the_valence_basins(tmp_path):
    (tmp_path / "CHGCAR.gz").symlink_to(FILES / "bader" / "CHGCAR.gz")
    _, partition = bader_from_vasp(tmp_path)
    assert "AECCAR" not in partition.method
    assert partition.total_electrons == pytest.approx(132.0, rel=0.01)


def test_a_truncated_chgcar_is_an_error_naming_it(tmp_path):
    import gzip

    with gzip.open(FILES / "bader" / "CHGCAR.gz", "rt") as handle:
        head = "".join(handle.readline() for _ in range(4000))
    (tmp_path / "CHGCAR").write_text(head)
    with pytest.raises(InputError) as err:
        bader_from_vasp(tmp_path)
    assert "CHGCAR" in str(err.value) and "rerun" in str(err.value)


def test_a_run_folder_without_chgcar_says_how_to_get_one(tmp_path):
    with pytest.raises(InputError) as err:
        bader_from_vasp(tmp_path)
    assert "CHGCAR" in str(err.value) and "LCHARG" in str(err.value)


def test_valence_electrons_come_from_the_outcar_when_no_potcar_was_kept(tmp_path):
    shutil.copy(NEB / "01" / "OUTCAR", tmp_path / "OUTCAR")
    assert valence_electrons(tmp_path) == {"Fe": 14.0}


def test_bulk_locpot_is_inversion_symmetric_with_its_well_at_the_ion():
    grid = read_locpot(FILES / "LOCPOT")
    assert [s.specie.symbol for s in grid.structure] == ["Li"]
    assert grid.values.shape == (32, 32, 32)
    profile = planar_average(grid.values, axis=2)
    # the Li ion sits at the origin: inversion maps the plane at t onto -t
    assert profile == pytest.approx(np.roll(profile[::-1], 1), abs=1e-6 * np.abs(profile).max())
    # the electron's potential energy is lowest at the ion's plane, highest between planes
    assert int(np.argmin(profile)) == 0
    assert int(np.argmax(profile)) == len(profile) // 2


def test_slab_locpot_gives_a_flat_vacuum_level_above_the_fermi_level():
    from ionflow.analysis.vasp_files import read_text

    grid = read_locpot(FILES / "surface_tests" / "LOCPOT.gz")
    c = grid.structure.lattice.c
    z_atoms = np.sort(grid.structure.cart_coords[:, 2] % c)
    profile = planar_average(grid.values, axis=2)
    z = np.arange(len(profile)) * c / len(profile)
    # the widest gap between atomic planes (periodically) is the vacuum; take its middle third
    gaps = np.diff(np.append(z_atoms, z_atoms[0] + c))
    k = int(np.argmax(gaps))
    assert gaps[k] > 10.0
    lo, hi = z_atoms[k] + gaps[k] / 3, z_atoms[k] + 2 * gaps[k] / 3
    inside = ((z - lo) % c) < (hi - lo)
    vacuum = profile[inside]
    assert np.ptp(vacuum) < 0.01  # eV: no field in the vacuum of a symmetric metal slab
    text = read_text(FILES / "surface_tests" / "OUTCAR.relax1.gz")
    fermi = float(text[text.rfind("E-fermi :") :].split()[2])
    work_function = vacuum.mean() - fermi
    # rare-earth metals: work functions about 3 eV (Dy, measured: 3.1 eV); PBE slabs within ~0.5 eV
    assert 2.3 < work_function < 4.0


def test_a_truncated_locpot_is_an_error_naming_it(tmp_path):
    lines = (FILES / "LOCPOT").read_text().splitlines(keepends=True)
    (tmp_path / "LOCPOT").write_text("".join(lines[: len(lines) // 2]))
    with pytest.raises(InputError) as err:
        read_locpot(tmp_path / "LOCPOT")
    assert "LOCPOT" in str(err.value)


def test_real_neb_band_of_a_symmetric_vacancy_hop():
    band = read_vasp_neb(NEB)
    assert band.converged and all(band.finished)
    energies = np.array(band.energies)
    saddle = int(np.argmax(energies))
    assert saddle == 2  # the middle image of a symmetric hop, not an end point
    assert energies[1] == pytest.approx(energies[3], abs=0.005)  # mirror images
    doc = barrier_from_vasp_neb(NEB, {**HOP, "length": hop_length_from_poscars(NEB)})
    assert doc.forward_barrier > 0
    assert doc.saddle_image == 2 and doc.saddle_interior
    assert doc.forward_barrier == pytest.approx(doc.reverse_barrier, abs=0.02)
    # a 2x2x2 fcc cell of edge 7.267 Å: the hop spans one nearest-neighbour distance, a/sqrt(2)
    # for a = 7.267/2 Å, shortened by the relaxation of the end points around the vacancy
    nearest = float(NEB.joinpath("00", "POSCAR").read_text().split()[2]) / 2 / np.sqrt(2)
    assert 0.85 * nearest < doc.hop_length <= nearest + 0.01


def test_neb_cost_is_read_from_the_images_outcars():
    band = read_vasp_neb(NEB)
    costs = [run_cost(NEB / f"0{i}" / "OUTCAR") for i in (1, 2, 3)]
    assert all(c.ionic_steps > 0 and c.elapsed_s and c.elapsed_s > 0 for c in costs)
    # VASP also prints one "LOOP+" timing line per ionic step: an independent count
    for i, cost in zip((1, 2, 3), costs, strict=True):
        assert cost.ionic_steps == (NEB / f"0{i}" / "OUTCAR").read_text().count("LOOP+")
    assert band.force_calls == sum(c.ionic_steps for c in costs)
    # the images run side by side in one VASP job: its wall time is the longest image's
    assert band.wall_time_s == max(c.elapsed_s for c in costs)
    doc = barrier_from_vasp_neb(NEB, HOP, added_cost=(12, 100.0))
    assert doc.force_calls == band.force_calls + 12
    assert doc.wall_time_s == pytest.approx(band.wall_time_s + 100.0)


def henkelman_acf(structure, electrons, rows: int | None = None, totals: bool = True) -> str:
    """``ACF.dat`` as the Henkelman program lays it out (no licensed real one was found to keep:
    the numbers here are baderkit's on the real Fe3O4 density; the layout is what is tested)."""
    lines = [
        "    #         X           Y           Z       CHARGE      MIN DIST    ATOMIC VOL",
        " " + "-" * 84,
    ]
    for i, (site, q) in enumerate(zip(structure, electrons, strict=True)):
        if rows is not None and i >= rows:
            break
        x, y, z = site.coords
        lines.append(f"{i + 1:5d} {x:11.4f} {y:11.4f} {z:11.4f} {q:11.4f} {1.0:11.4f} {10.0:11.4f}")
    lines.append(" " + "-" * 84)
    if totals:
        lines += [
            "    VACUUM CHARGE:               0.0000",
            "    VACUUM VOLUME:               0.0000",
            f"    NUMBER OF ELECTRONS:       {sum(electrons):9.4f}",
        ]
    return "\n".join(lines) + "\n"


def test_the_henkelman_programs_acf_dat_is_taken_when_the_run_has_one(fe3o4, tmp_path):
    structure, computed = bader_from_vasp(fe3o4)
    (tmp_path / "CHGCAR.gz").symlink_to(FILES / "bader" / "CHGCAR.gz")
    (tmp_path / "ACF.dat").write_text(henkelman_acf(structure, computed.electrons))
    atoms, partition = bader_from_vasp(tmp_path)
    assert partition.method == "Henkelman bader program"
    assert [s.specie.symbol for s in atoms] == [s.specie.symbol for s in structure]
    assert partition.electrons == pytest.approx(computed.electrons, abs=1e-4)
    assert partition.total_electrons == pytest.approx(132.0, rel=0.01)


@pytest.mark.parametrize(
    ("rows", "totals", "message"), [(14, False, "NUMBER OF ELECTRONS"), (10, True, "lists 10")]
)
def test_a_truncated_acf_dat_is_an_error_naming_it(fe3o4, tmp_path, rows, totals, message):
    structure, computed = bader_from_vasp(fe3o4)
    (tmp_path / "CHGCAR.gz").symlink_to(FILES / "bader" / "CHGCAR.gz")
    (tmp_path / "ACF.dat").write_text(henkelman_acf(structure, computed.electrons, rows, totals))
    with pytest.raises(InputError) as err:
        bader_from_vasp(tmp_path)
    assert "ACF.dat" in str(err.value) and message in str(err.value)


HENKELMAN_ACF = Path(__file__).parent / "data" / "henkelman_bader" / "Fe3O4-ACF.dat"
"""The Henkelman program's own output on this density (provenance: that folder's README)."""


def test_default_bader_reproduces_the_henkelman_program(fe3o4, tmp_path):
    """Same density, same charges whichever runs the partition: ionflow's default (baderkit
    neargrid, AECCAR0+2 basins) against `bader CHGCAR -ref CHGCAR_sum`'s recorded ACF.dat."""
    henkelman = read_acf(HENKELMAN_ACF, n_atoms=14).electrons
    _, own = bader_from_vasp(fe3o4)
    assert own.method.startswith("baderkit neargrid,")
    assert np.abs(own.electrons - henkelman).max() < 0.005
    # the run folder that holds the program's ACF.dat gives the same charges
    (tmp_path / "CHGCAR.gz").symlink_to(FILES / "bader" / "CHGCAR.gz")
    shutil.copy(HENKELMAN_ACF, tmp_path / "ACF.dat")
    _, read = bader_from_vasp(tmp_path)
    assert read.method == "Henkelman bader program"
    assert np.abs(read.electrons - own.electrons).max() < 0.005
    # other methods stay selectable, and say which they are
    _, weight = bader_from_vasp(fe3o4, method="weight")
    assert weight.method.startswith("baderkit weight,")
    assert weight.total_electrons == pytest.approx(132.0, rel=0.01)


@pytest.mark.parametrize("case", ["not an interface", "no such folder", "one reference"])
def test_parse_charges_refuses_what_it_cannot_read_in_one_line(fe3o4, tmp_path, case):
    """``ionflow parse charges`` on the real Fe3O4 run (no carbon: not an AP/carbon interface),
    a mistyped folder, or one reference run only: one line naming the problem, exit 2,
    nothing stored."""
    folder = {"not an interface": fe3o4, "no such folder": tmp_path / "nope", "one reference": fe3o4}[case]
    extra = ["--reference", str(fe3o4)] if case == "one reference" else []
    results = tmp_path / "results.json"
    line = one_line_error(ionflow("parse", "charges", str(folder), "--results", str(results), *extra))
    expected = {
        "not an interface": "AP/carbon",
        "no such folder": "not a folder",
        "one reference": "--reference",
    }
    assert expected[case] in line
    assert not results.exists()
