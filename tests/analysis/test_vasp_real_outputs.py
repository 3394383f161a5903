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

import gzip
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ionflow.analysis.bader import bader_from_vasp, read_acf
from ionflow.analysis.neb import barrier_from_vasp_neb, hop_length_from_poscars, read_vasp_neb
from ionflow.analysis.potential import planar_average, read_locpot
from ionflow.analysis.store import results_store
from ionflow.analysis.vasp_files import run_cost, valence_electrons
from ionflow.analysis.vasp_static import static_run_from_vasp
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


@pytest.mark.parametrize("case", ["no density or potential", "no such folder", "one reference"])
def test_parse_charges_refuses_what_it_cannot_read_in_one_line(fe3o4, tmp_path, case):
    """``ionflow parse charges`` on a folder with no CHGCAR, ACF.dat or LOCPOT, a mistyped
    folder, or one reference run only: one line naming the problem, exit 2, nothing stored."""
    empty = tmp_path / "empty"
    empty.mkdir()
    folder = {"no density or potential": empty, "no such folder": tmp_path / "nope", "one reference": fe3o4}
    extra = ["--reference", str(fe3o4)] if case == "one reference" else []
    results = tmp_path / "results.json"
    line = one_line_error(ionflow("parse", "charges", str(folder[case]), "--results", str(results), *extra))
    expected = {
        "no density or potential": "holds no CHGCAR, ACF.dat or LOCPOT",
        "no such folder": "not a folder",
        "one reference": "--reference",
    }
    assert expected[case] in line
    assert not results.exists()


def potcar(folder: Path, *names: str) -> None:
    """The run's POTCAR: the PAW datasets ``names`` (pymatgen's copies) concatenated, as VASP's
    own POTCAR is."""
    with (folder / "POTCAR").open("wb") as out:
        for name in names:
            out.write(gzip.decompress((FILES / "POT_GGA_PAW_PBE" / f"POTCAR.{name}.gz").read_bytes()))


def stored(results: Path) -> list[dict]:
    store = results_store(str(results))
    store.connect()
    try:
        return list(store.query())
    finally:
        store.close()


def test_parse_charges_reads_a_real_static_run_into_bader_charges_per_species(fe3o4, tmp_path):
    """The Fe3O4 static run a user brings back (CHGCAR, AECCAR0/2, its Fe_pv + O POTCAR): one
    stored document whose charges conserve the electrons and make Fe cations and O anions."""
    folder = tmp_path / "static-Fe3O4"
    folder.mkdir()
    for name in ("CHGCAR", "AECCAR0", "AECCAR2"):
        (folder / f"{name}.gz").symlink_to(fe3o4 / f"{name}.gz")
    potcar(folder, "Fe_pv", "O")
    results = tmp_path / "results.json"
    run = ionflow("parse", "charges", str(folder), "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Bader charges of Fe3O4" in run.stdout and "132.000 of 132" in run.stdout
    [doc] = stored(results)
    assert doc["doc_type"] == "StaticRunDoc" and doc["run"] == "static-Fe3O4" and doc["potential"] is None
    bader = doc["bader"]
    assert bader["total_electrons"] == pytest.approx(132.0, rel=0.01)  # 6 Fe_pv x 14 + 8 O x 6
    net = dict(zip(bader["species"], bader["net_charges"], strict=True))
    charges = np.array(bader["net_charges"])
    assert charges.sum() == pytest.approx(0.0, abs=0.05)  # a neutral cell
    species = np.array(bader["species"])
    assert (charges[species == "Fe"] > 0.5).all() and (charges[species == "O"] < -0.9).all()
    assert set(net) == {"Fe", "O"}
    # the POTCAR of another run (Fe, 8 valence electrons, not Fe_pv's 14) is refused, nothing stored
    potcar(folder, "Fe", "O")
    other = tmp_path / "other.json"
    line = one_line_error(ionflow("parse", "charges", str(folder), "--results", str(other)))
    assert "POTCAR" in line and "96 valence electrons" in line and "132" in line
    assert not other.exists()


DY_SLAB = FILES / "surface_tests"


def test_parse_charges_reads_a_real_slab_potential_into_its_work_function(tmp_path):
    """The nine-layer Dy slab (LOCPOT with ~28 Å of vacuum, its OUTCAR): the vacuum level, flat,
    lies above the Fermi level by a work function near the rare-earth metals' measured ~3 eV
    (Dy 3.1 eV; Gd 2.90, Tb 3.00 eV, CRC Handbook), PBE slabs within ~0.5 eV; and the symmetric
    slab has no dipole: both faces see the same vacuum level."""
    folder = tmp_path / "static-Dy"
    folder.mkdir()
    (folder / "LOCPOT.gz").symlink_to(DY_SLAB / "LOCPOT.gz")
    (folder / "OUTCAR.gz").symlink_to(DY_SLAB / "OUTCAR.relax1.gz")
    results = tmp_path / "results.json"
    run = ionflow("parse", "charges", str(folder), "--results", str(results))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "work function" in run.stdout and "(flat)" in run.stdout
    [doc] = stored(results)
    pot = doc["potential"]
    assert doc["bader"] is None and doc["formula"] == "Dy" and doc["n_atoms"] == 9
    assert pot["vacuum_gap"] > 20.0 and pot["vacuum_flat"]
    assert 2.5 < pot["work_function"] < 3.6
    assert pot["work_function"] == pytest.approx(pot["vacuum_level"] - pot["fermi_level"])
    grid = read_locpot(folder / "LOCPOT.gz")
    heights = np.sort(grid.structure.cart_coords[:, 2])
    z, planar, c = np.array(pot["z"]), np.array(pot["planar"]), grid.structure.lattice.c
    for distance in (3.0, 5.0, 8.0):  # the same distance above the top and below the bottom face
        above = np.interp(heights[-1] + distance, z, planar, period=c)
        below = np.interp(heights[0] - distance, z, planar, period=c)
        assert above == pytest.approx(below, abs=0.02)
    # no field in the vacuum: the middle third of the gap is flat to 0.01 eV, at the vacuum level
    top = heights[-1] + pot["vacuum_gap"] / 3
    middle = planar[((z - top) % c) < pot["vacuum_gap"] / 3]
    assert np.ptp(middle) < 0.01 and middle.mean() == pytest.approx(pot["vacuum_level"], abs=0.01)


def test_a_locpot_of_another_run_beside_the_density_is_an_error_naming_it(fe3o4, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "ACF.dat").write_bytes(HENKELMAN_ACF.read_bytes())
    (folder / "CHGCAR.gz").symlink_to(fe3o4 / "CHGCAR.gz")
    (folder / "LOCPOT.gz").symlink_to(DY_SLAB / "LOCPOT.gz")
    potcar(folder, "Fe_pv", "O")
    with pytest.raises(InputError) as err:
        static_run_from_vasp(folder, "mixed", {"method": "neargrid"})
    assert "LOCPOT" in str(err.value) and "same run" in str(err.value)
