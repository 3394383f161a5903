"""The warm start's Δ-corrected rounds on VASP (``ionflow submit`` with ``engine: vasp`` and
``warm_start: true``): one batch job that converges the band on CHGNet and finishes it with
VASP single points, stopping on VASP's CI-NEB force.

What runs here: the rounds' job body (:func:`ionflow.workflows.rounds.corrected_rounds`) on real
DFT, GPAW standing in for VASP through the same engine registry and calculator interface,
killed and resumed; VASP's single-point inputs as atomate2 writes them, tag by tag and against
the end points' relaxation inputs; one VASP call through atomate2's ``run_vasp`` and
custodian, VASP's binary replaced by a replay of a recorded real run (pymatgen's test files);
the end points read from real atomate2 task documents; the flow's wiring. What does not: a
VASP binary (none here), so no barrier of these rounds has come from VASP yet.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor
from pymatgen.io.vasp import Incar, Kpoints, Poscar, Vasprun

from ionflow.inputs.hops import find_hops, interpolate_idpp
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV
from ionflow.workflows.rounds import corrected_rounds
from ionflow.workflows.settings import NebDftSettings, NebSettings
from ionflow.workflows.vasp import end_points_from_tasks, relax_maker, single_point_incar
from ionflow.workflows.vasp_calculator import NebVasp, read_single_point
from ionflow.workflows.warm_start import band_max_force, counted_calculator

FILES = Path("/usr/share/doc/pymatgen-test-files/examples/test_files")
FCC = [[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]
FMAX = 0.05
GPAW = NebSettings(model="GPAW", dft=NebDftSettings(mode="pw", ecut=200, kspacing=1.5))
"""Plane waves at 200 eV, Γ only on the 4.33 Å fcc Li cell (test_gpaw_neb.py): far from
converged, chosen so a band runs in seconds; the checks hold on any cell."""


def li_vacancy_hop():
    """A vacancy hop between two equivalent sites of fcc Li (4-atom cell, one vacancy), 3 images."""
    host = Structure(Lattice.cubic(4.33), ["Li"] * 4, FCC)
    return find_hops(host, "Li", host_name="Li", n_images=3, min_length=4, min_atoms=1, max_hops=1)[0]


def gpaw_end_points(hop) -> dict:
    """The end points as the rounds take them from VASP's relaxations: GPAW's energy and forces.
    Each remaining atom sits midway between two vacancies (inversion): no force, already relaxed."""
    calculator = counted_calculator("GPAW", False, GPAW.calculator_kwargs)
    energies, forces = [], []
    for end in (hop.initial, hop.final):
        atoms = AseAtomsAdaptor.get_atoms(end)
        atoms.calc = calculator
        energies.append(atoms.get_potential_energy())
        forces.append(atoms.get_forces())
    assert max(np.abs(f).max() for f in forces) < 1e-3
    return {
        "initial": hop.initial,
        "final": hop.final,
        "energies": energies,
        "forces": forces,
        "converged": True,
        "force_calls": 2,
        "wall_time_s": 1.0,
    }


def rounds_on_gpaw(hop, end_points):
    return corrected_rounds(end_points, hop.as_dict(), "GPAW", GPAW.calculator_kwargs, 3, FMAX, "gpaw", {})


@pytest.fixture(scope="module")
def gpaw_rounds():
    hop = li_vacancy_hop()
    end_points = gpaw_end_points(hop)
    return hop, end_points, rounds_on_gpaw(hop, end_points)


def test_rounds_on_gpaw_standing_in_for_vasp_converge_a_dft_ci_neb(gpaw_rounds):
    _, end_points, doc = gpaw_rounds
    assert doc.converged and doc.engine == "gpaw (warm start: CHGNet, warm+Δ)"
    # physics: the two end points are one vacancy by symmetry, so the hop is symmetric
    assert abs(doc.delta_e) < 0.005
    assert doc.forward_barrier == pytest.approx(doc.reverse_barrier, abs=0.005)
    assert doc.forward_barrier > 0.02 and doc.saddle_interior
    # the band is a converged CI-NEB on the DFT itself, measured afresh (plain CI-NEB's criterion)
    images = doc.band["images"]  # emmet's NebResult keeps pymatgen structures
    largest, _ = band_max_force(images, "GPAW", calculator_kwargs=GPAW.calculator_kwargs)
    assert largest < FMAX
    # every DFT call is counted, the end points' included; the band's are few
    assert end_points["force_calls"] + 3 <= doc.force_calls <= end_points["force_calls"] + 3 * 6
    assert doc.force_calls_before_resume == 0


RUN_ROUNDS = """
import json, sys
from tests.workflows.test_vasp_rounds import gpaw_end_points, li_vacancy_hop, rounds_on_gpaw
hop = li_vacancy_hop()
doc = rounds_on_gpaw(hop, gpaw_end_points(hop))
print(json.dumps(doc.model_dump(mode="json", exclude={"band"})))
"""


def test_rounds_killed_mid_band_resume_with_the_calls_they_had_made(gpaw_rounds, tmp_path):
    _, _, uninterrupted = gpaw_rounds
    repo = Path(__file__).resolve().parents[2]
    # launched in a folder of its own (a batch job's launch folder gets the checkpoint's marker)
    pythonpath = os.pathsep.join(filter(None, [str(repo), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, CHECKPOINTS_ENV: str(tmp_path / "checkpoints"), "PYTHONPATH": pythonpath}
    command = [sys.executable, "-c", RUN_ROUNDS]
    launch = tmp_path / "launch"
    launch.mkdir()
    killed = subprocess.Popen(command, cwd=launch, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while len(list((tmp_path / "checkpoints").glob("*/call-*.json"))) < 2:  # mid-way through round 1
        assert killed.poll() is None and time.monotonic() < deadline, "the rounds ended before the kill"
        time.sleep(0.05)
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    kept = len(list((tmp_path / "checkpoints").glob("*/call-*.json")))
    rerun = subprocess.run(command, cwd=launch, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    doc = json.loads(rerun.stdout.strip().splitlines()[-1])
    assert doc["converged"] and doc["force_calls_before_resume"] == kept >= 2
    assert doc["forward_barrier"] == pytest.approx(uninterrupted.forward_barrier, abs=0.002)
    assert doc["force_calls"] == uninterrupted.force_calls  # the same rounds, none paid twice
    assert not list((tmp_path / "checkpoints").iterdir())  # a finished band forgets its checkpoint
    assert (launch / "neb-checkpoint.json").exists() and not (repo / "neb-checkpoint.json").exists()


def written(folder: Path) -> tuple[Incar, Kpoints, Poscar, list[str]]:
    return (
        Incar.from_file(folder / "INCAR"),
        Kpoints.from_file(folder / "KPOINTS"),
        Poscar.from_file(folder / "POSCAR"),
        (folder / "POTCAR.spec").read_text().split(),
    )


ELECTRONIC = ("GGA", "ENCUT", "PREC", "EDIFF", "ISMEAR", "SIGMA", "LREAL", "LASPH", "ISPIN", "MAGMOM", "ALGO")
"""Tags on which an image's energy depends: the same in the single points as in the end
points' relaxations, or the band's energies do not compare with the end points'."""


@pytest.mark.parametrize("slab", [False, True])
def test_vasp_single_point_inputs_tag_by_tag(tmp_path, ap_bulk, slab):
    image = interpolate_idpp(*_ap_hop_ends(ap_bulk), 3)[2]
    if slab:  # an interface's tags: vacuum along c
        image = image.copy(site_properties={"region": ["AP"] * len(image)})
    NebVasp({"EDIFFG": -0.03}, slab=slab, execute=False).write_inputs(image, tmp_path / "call")
    incar, kpoints, poscar, potcar = written(tmp_path / "call")
    assert incar["NSW"] == 0 and incar["IBRION"] == -1 and incar["ISYM"] == 0
    assert incar["LWAVE"] and not incar["LCHARG"]
    for tag in ("IMAGES", "LCLIMB", "SPRING", "IOPT", "ICHAIN", "EDIFFG"):
        assert tag not in incar, tag  # a single point: no band, no ionic criterion
    assert incar["ENCUT"] == 520 and incar["GGA"].upper() == "PE" and incar["EDIFF"] == 1e-5
    assert incar["ISMEAR"] == 0 and incar["SIGMA"] == 0.05 and incar["LASPH"]
    if slab:  # the interface's D3 and dipole correction, as in its relaxation
        assert incar.get("IVDW") == 11 and incar["LDIPOL"] and incar["IDIPOL"] == 3
    else:
        assert "IVDW" not in incar
    assert kpoints.style == Kpoints.supported_modes.Gamma
    assert (kpoints.kpts[0][2] == 1) if slab else all(k >= 1 for k in kpoints.kpts[0])
    # the end point's relaxation of the same cell: the same electronic tags and mesh
    relax_folder = tmp_path / "relax"
    relax_folder.mkdir()
    from atomate2.vasp.files import write_vasp_input_set

    write_vasp_input_set(image, relax_maker(image).input_set_generator, relax_folder, potcar_spec=True)
    relax_incar, relax_kpoints, _, relax_potcar = written(relax_folder)
    assert {t: incar.get(t) for t in ELECTRONIC} == {t: relax_incar.get(t) for t in ELECTRONIC}
    assert kpoints.kpts == relax_kpoints.kpts and potcar == relax_potcar
    assert set(single_point_incar(slab, {"EDIFFG": -0.03})) <= set(incar)  # every preset tag written
    assert poscar.structure.composition == image.composition and len(poscar.structure) == len(image)


def _ap_hop_ends(ap_bulk):
    hop = find_hops(ap_bulk, "Li", host_name="AP", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]
    return hop.initial, hop.final


@pytest.fixture
def recorded_vasp(tmp_path, monkeypatch) -> tuple[Path, Structure]:
    """A 'VASP' that replays a recorded real run (LiFePO4, 25 atoms, HSE: its last ionic step,
    forces up to 0.1 eV/Å) and writes a WAVECAR, and that run's final structure; POTCARs from
    pymatgen's test set (real files) where atomate2's PBE_54 set looks for them."""
    recorded = FILES / "vasprun.xml"
    if not recorded.exists():
        if os.environ.get("CI"):
            pytest.fail("pymatgen-test-files is not installed: .ci/run must install it", pytrace=False)
        pytest.skip("real VASP outputs: apt-get install pymatgen-test-files")
    potcars = tmp_path / "potcars" / "POT_GGA_PAW_PBE_54"
    potcars.mkdir(parents=True)
    for name in ("Li_sv", "Fe", "P", "O"):
        (potcars / f"POTCAR.{name}.gz").symlink_to(FILES / "POT_GGA_PAW_PBE" / f"POTCAR.{name}.gz")
    from pymatgen.core import SETTINGS

    monkeypatch.setitem(SETTINGS, "PMG_VASP_PSP_DIR", str(potcars.parent))
    final = Vasprun(recorded, parse_dos=False, parse_eigen=False, parse_potcar_file=False).final_structure
    Poscar(final).write_file(tmp_path / "CONTCAR")
    script = tmp_path / "vasp_replay"
    script.write_text(  # the files custodian's validators look for; ionflow reads vasprun.xml
        f"#!/bin/sh\ncp {recorded} vasprun.xml\ncp {tmp_path / 'CONTCAR'} CONTCAR\ntouch OUTCAR OSZICAR\n"
        "echo wave functions > WAVECAR\necho ' running on    1 total cores' > vasp.out\n"
    )
    script.chmod(0o755)
    return script, final


def test_vasp_single_point_runs_through_custodian_and_maps_forces_back(tmp_path, recorded_vasp):
    script, final = recorded_vasp
    # the caller's atoms in another species order (Fe P O Li against VASP's Li Fe P O), each
    # species' atoms in the recorded order, which is then the POSCAR's and the replay valid
    shuffled = Structure.from_sites(sorted(final, key=lambda site: -site.specie.Z))
    calculator = NebVasp(
        root=str(tmp_path / "calls"),
        run_vasp_kwargs={"vasp_cmd": str(script), "vasp_gamma_cmd": str(script), "handlers": ()},
    )
    atoms = AseAtomsAdaptor.get_atoms(shuffled)
    atoms.calc = calculator
    forces = atoms.get_forces()
    energy = atoms.get_potential_energy()
    # VASP's POSCAR groups species in pymatgen's order; the forces come back in the caller's
    poscar = Poscar.from_file(tmp_path / "calls" / "call-0000" / "POSCAR")
    assert [s.specie.symbol for s in poscar.structure] == [s.specie.symbol for s in final]
    assert np.allclose(poscar.structure.cart_coords, final.cart_coords, atol=1e-6)
    recorded = Vasprun(FILES / "vasprun.xml", parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    recorded_forces = np.array(recorded.ionic_steps[-1]["forces"])
    for site, force in zip(shuffled, forces, strict=True):
        (index,) = [i for i, s in enumerate(final) if s.distance(site) < 1e-6]
        assert force == pytest.approx(recorded_forces[index], abs=1e-8)
    assert np.abs(forces.sum(axis=0)).max() < 1e-4  # physics: no net force on the cell
    assert energy == pytest.approx(recorded.final_energy, abs=1e-8)
    # the next call on a nearby configuration starts from this one's wave functions
    atoms.positions[0] += 0.01
    atoms.get_forces()
    assert (tmp_path / "calls" / "call-0001" / "WAVECAR").exists()
    assert not (tmp_path / "calls" / "call-0000" / "WAVECAR").exists()


def test_a_single_point_vasp_left_unconverged_or_cut_is_an_error(tmp_path, recorded_vasp):
    unconverged = tmp_path / "unconverged"
    unconverged.mkdir()
    shutil.copy(FILES / "vasprun.xml.dfpt.unconverged", unconverged / "vasprun.xml")
    with pytest.raises(RuntimeError, match="SCF did not converge"):
        read_single_point(unconverged)
    cut = tmp_path / "cut"
    cut.mkdir()
    text = (FILES / "vasprun.xml").read_bytes()
    (cut / "vasprun.xml").write_bytes(text[: len(text) // 2])  # a run killed mid-write
    with pytest.raises(RuntimeError, match="unreadable"):
        read_single_point(cut)


def test_end_points_come_from_real_atomate2_task_documents(tmp_path):
    from emmet.core.tasks import TaskDoc

    folder = tmp_path / "relax"
    shutil.copytree(FILES / "relaxation", folder)
    run = Vasprun(folder / "vasprun.xml", parse_dos=False, parse_eigen=False, parse_potcar_file=False)
    Poscar(run.final_structure).write_file(folder / "CONTCAR")  # the recorded run kept no CONTCAR
    task = TaskDoc.from_directory(folder)
    end_points = end_points_from_tasks([task, task])
    assert end_points["energies"] == [pytest.approx(run.final_energy)] * 2
    assert end_points["initial"].composition == run.final_structure.composition
    assert np.asarray(end_points["forces"][0]).shape == (len(run.final_structure), 3)
    assert end_points["converged"]
    assert end_points["force_calls"] == 2 * len(run.ionic_steps)
    assert end_points["wall_time_s"] == pytest.approx(2 * task.run_stats["overall"].elapsed_time)


def test_the_vasp_warm_start_is_one_rounds_job_after_the_relaxations(ap_bulk):
    from ionflow.workflows.vasp import VaspMigrationBarrierMaker

    hop = find_hops(ap_bulk, "Li", host_name="AP", n_images=5, min_length=7.0, min_atoms=1, max_hops=1)[0]
    flow = VaspMigrationBarrierMaker(warm_start=True, incar_overrides={"EDIFFG": -0.03}).make(hop)
    names = [j.name for j in flow.jobs]
    assert names == [f"relax initial {hop.hop_id}", f"relax final {hop.hop_id}", f"warm CI-NEB {hop.hop_id}"]
    rounds = flow.jobs[2]
    relax_uuids = {j.uuid for j in flow.jobs[:2]}
    assert {ref.uuid for ref in rounds.input_references} == relax_uuids
    names = ("relax_outputs", "hop", "n_images", "fmax", "engine_kwargs", "settings")
    kwargs = dict(zip(names, rounds.function_args, strict=True))
    assert kwargs["fmax"] == pytest.approx(0.03)  # VASP's -EDIFFG: the rounds' force criterion
    assert kwargs["engine_kwargs"] == {"incar_overrides": {"EDIFFG": -0.03}, "kspacing": 0.25, "slab": False}
    assert "EDIFFG" not in kwargs["settings"]["incar"] and kwargs["settings"]["incar"]["NSW"] == 0
    assert flow.output.uuid == rounds.uuid
    # off: VASP's own CI-NEB climbs from the warm band, as before
    plain = VaspMigrationBarrierMaker(warm_start=True, corrected_rounds=False).make(hop)
    assert [j.name for j in plain.jobs][2:] == [
        f"warm start {hop.hop_id}",
        f"CI-NEB {hop.hop_id}",
        f"barrier {hop.hop_id}",
    ]
