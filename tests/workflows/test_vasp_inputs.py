"""The VASP inputs each VASP job of the flows would write (atomate2's writer, POTCAR.spec only)."""

from __future__ import annotations

import numpy as np
import pytest
from atomate2.vasp.files import write_vasp_input_set
from pymatgen.io.vasp import Incar, Kpoints, Poscar

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.hops import find_hops, interpolate_idpp
from ionflow.inputs.interface import build_ap_graphene_interface, build_cnt_on_ap
from ionflow.workflows.vasp import neb_maker, relax_maker, selective_dynamics_bottom, static_charge_maker


@pytest.fixture(scope="module")
def interface():
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    return build_ap_graphene_interface(
        ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=10.0
    ).structure


def written(maker, structure, folder):
    folder.mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        write_vasp_input_set(structure, maker.input_set_generator, potcar_spec=True)
    return (
        Incar.from_file(folder / "INCAR"),
        Kpoints.from_file(folder / "KPOINTS"),
        Poscar.from_file(folder / "POSCAR"),
        (folder / "POTCAR.spec").read_text().split(),
    )


def test_interface_static_writes_charge_density_and_potential(interface, tmp_path):
    incar, kpoints, poscar, potcar = written(static_charge_maker(interface), interface, tmp_path / "static")
    assert incar["ENCUT"] == 520 and incar["GGA"].upper() == "PE"
    assert incar["LCHARG"] and incar["LAECHG"] and incar["LVHAR"]
    assert incar["NSW"] == 0
    assert incar["IVDW"] == 11  # DFT-D3 for the carbon interface
    assert incar["LDIPOL"] and incar["IDIPOL"] == 3
    assert kpoints.style == Kpoints.supported_modes.Gamma and kpoints.kpts[0][2] == 1
    assert all(k >= 1 for k in kpoints.kpts[0][:2])
    assert poscar.structure.composition == interface.composition
    assert [p.split("_")[0] for p in potcar] == poscar.site_symbols  # one PAW per species, POSCAR order
    assert "Li_sv" in potcar  # Li with its 1s semicore states
    # same atoms in the same place (VASP's POSCAR groups species; compare as sets of sites)
    written_sites = {(str(s.specie), *np.round(s.frac_coords % 1, 4)) for s in poscar.structure}
    model_sites = {(str(s.specie), *np.round(s.frac_coords % 1, 4)) for s in interface}
    assert written_sites == model_sites


def test_interface_relax_keeps_cell_and_fixes_the_bottom(interface, tmp_path):
    fixed = selective_dynamics_bottom(interface, 0.5)
    incar, _, poscar, _ = written(relax_maker(fixed), fixed, tmp_path / "relax")
    assert incar["ISIF"] == 2 and incar["IBRION"] == 2 and incar["EDIFFG"] < 0
    assert incar["IVDW"] == 11 and incar["ENCUT"] == 520
    flags = np.array(poscar.selective_dynamics)
    assert flags.any() and not flags.all()


def test_production_cnt_interface_inputs(ap_bulk, tmp_path):
    """The seed system's size on the cluster: a (6,6) tube (8.1 Å across) lying on the AP
    slab, 592 atoms. The same static and relaxation as graphene's, and what a cell this size
    needs: real-space projection, one k-point along the normal, the tube's axis sampled."""
    model = build_cnt_on_ap(ap_bulk)
    tube = model.structure
    assert model.info["chirality"] == [6, 6] and len(tube) == 592 and not model.polarity.polar
    incar, kpoints, poscar, potcar = written(static_charge_maker(tube), tube, tmp_path / "static")
    assert incar["LCHARG"] and incar["LAECHG"] and incar["LVHAR"] and incar["NSW"] == 0
    assert incar["IVDW"] == 11 and incar["LDIPOL"] and incar["IDIPOL"] == 3
    assert incar["ENCUT"] == 520 and incar["LREAL"] == "Auto"  # 592 atoms: real-space projectors
    assert kpoints.style == Kpoints.supported_modes.Gamma and kpoints.kpts[0][2] == 1
    a, b, _ = tube.lattice.abc  # along the tube (19.7 Å) and across it (15.8 Å)
    assert all(1 <= k <= 3 for k in kpoints.kpts[0][:2]) and a > 15 and b > 15
    assert poscar.structure.composition == tube.composition
    assert poscar.structure.composition["C"] == 24 * model.info["tube_cells"]  # (6,6): 24 C per cell
    assert [p.split("_")[0] for p in potcar] == poscar.site_symbols
    fixed = selective_dynamics_bottom(tube, 0.5)
    incar, _, poscar, _ = written(relax_maker(fixed), fixed, tmp_path / "relax")
    assert incar["ISIF"] == 2 and incar["EDIFFG"] < 0 and incar["IVDW"] == 11
    flags = np.array(poscar.selective_dynamics)
    assert flags.any() and not flags.all()


def test_bulk_neb_is_one_climbing_image_run(tmp_path, ap_bulk):
    hop = find_hops(ap_bulk, "Li", host_name="AP", n_images=5, min_length=7.0, min_atoms=1, max_hops=1)[0]
    images = interpolate_idpp(hop.initial, hop.final, 5)
    maker = neb_maker(images[0], n_images=5)
    incar, kpoints, poscar, _ = written(maker, images[0], tmp_path / "neb")
    assert incar["IMAGES"] == 5 and incar["LCLIMB"] and incar["IBRION"] == 3 and incar["POTIM"] == 0
    assert incar["IOPT"] == 1 and incar["SPRING"] == -5 and incar["EDIFFG"] == -0.05
    assert "IVDW" not in incar  # bulk AP: no carbon, no D3
    assert kpoints.kpts[0][2] >= 1
    assert len(poscar.structure) == len(hop.initial)


def test_vasp_flows_chain_atomate2_jobs(interface, ap_bulk):
    from ionflow.workflows.vasp import VaspChargeTransferMaker, VaspMigrationBarrierMaker

    flow = VaspChargeTransferMaker().make(interface, "tiny", "Li2OH")
    names = [j.name for j in flow.jobs]
    # the same flow shape and job names as the embedded engine's (one base Maker)
    assert names == [
        "relax tiny",
        "static interface tiny",
        "static AP tiny",
        "static carbon tiny",
        "charge transfer tiny",
    ]
    unrelaxed = VaspChargeTransferMaker(relax=False, references=False).make(interface, "tiny", "Li2OH")
    assert [j.name for j in unrelaxed.jobs] == ["static interface tiny", "charge transfer tiny"]
    # the relax job gets the structure with the bottom of the AP slab fixed
    relax_input = flow.jobs[0].function_args[0]
    flags = np.array(relax_input.site_properties["selective_dynamics"])
    assert flags.any() and not flags.all()
    hop = find_hops(ap_bulk, "Li", host_name="AP", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]
    neb_flow = VaspMigrationBarrierMaker(n_images=3).make(hop)
    assert [j.name for j in neb_flow.jobs][-2:] == [f"CI-NEB {hop.hop_id}", f"barrier {hop.hop_id}"]
    warm = VaspMigrationBarrierMaker(n_images=3, warm_start=True, corrected_rounds=False).make(hop)
    assert f"warm start {hop.hop_id}" in [j.name for j in warm.jobs]


@pytest.fixture(scope="module")
def warm_bands():
    """The Li3OCl vacancy hop's end points relaxed on SevenNet (standing in for VASP), the
    expensive engine's energies and forces there (VASP's last ionic steps), and the warm-start
    job's band without and with them: ``(initial, final, plain, corrected)``."""
    from pymatgen.io.ase import AseAtomsAdaptor

    from ionflow.workflows.end_points import relaxed_end_points
    from ionflow.workflows.settings import NebSettings
    from ionflow.workflows.vasp import warm_start_images
    from ionflow.workflows.warm_start import counted_calculator

    hop = li3ocl_hop()
    ends = relaxed_end_points(hop.initial, hop.final, NebSettings(model="SevenNet", end_point_fmax=0.05))
    initial, final = ends.initial, ends.final
    expensive = counted_calculator("SevenNet")
    energies, forces = [], []
    for end in (initial, final):
        atoms = AseAtomsAdaptor.get_atoms(end)
        atoms.calc = expensive
        energies.append(float(atoms.get_potential_energy()))
        forces.append(atoms.get_forces().tolist())
    plain = warm_start_images.original(initial, final, 3)
    corrected = warm_start_images.original(initial, final, 3, end_energies=energies, end_forces=forces)
    return initial, final, plain, corrected


def test_warm_start_images_are_a_converged_chgnet_band(warm_bands):
    """The warm-start job returns the CHGNet CI-NEB band between the end points: same end
    points, IDPP's image count, and the moving ion's path no longer IDPP's."""
    initial, final, images, _ = warm_bands
    idpp = interpolate_idpp(initial, final, 3)
    assert len(images) == 5
    assert np.allclose(images[0].cart_coords, initial.cart_coords, atol=1e-6)
    assert np.allclose(images[-1].cart_coords, final.cart_coords, atol=1e-6)
    moved = max(np.linalg.norm(a.coords - b.coords) for a, b in zip(images[2], idpp[2], strict=True))
    assert moved > 0.01


def test_warm_start_images_take_the_expensive_engines_end_points_into_account(warm_bands):
    """Given the expensive engine's energies and forces at the relaxed end points, the band is
    converged on CHGNet corrected by them: same end points, a different band from the
    uncorrected one."""
    _, _, plain, corrected = warm_bands
    assert len(corrected) == 5
    for k in (0, -1):
        assert np.allclose(corrected[k].cart_coords, plain[k].cart_coords, atol=1e-6)
    shift = max(np.linalg.norm(a.coords - b.coords) for a, b in zip(corrected[2], plain[2], strict=True))
    assert shift > 0.01  # the two engines disagree at the end points; the band feels it


def li3ocl_hop():
    """The nearest Li vacancy hop in cubic Li3OCl (2x2x2, 39 atoms)."""
    from pymatgen.core import Lattice, Structure

    host = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    return find_hops(host, "Li", host_name="Li3OCl", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]


def test_the_vasp_flow_feeds_the_end_points_into_the_warm_start():
    """With VASP's CI-NEB finishing the band (``corrected_rounds`` off), the warm-start job
    takes the end-point relaxations' energies and forces (references to their outputs: VASP's
    last ionic steps)."""
    from jobflow import OutputReference

    from ionflow.workflows.vasp import VaspMigrationBarrierMaker

    hop = li3ocl_hop()
    flow = VaspMigrationBarrierMaker(n_images=3, warm_start=True, corrected_rounds=False).make(hop)
    relax_ids = {j.uuid for j in flow.jobs if j.name.startswith("relax ")}
    warm = next(j for j in flow.jobs if j.name.startswith("warm start"))
    for key, attribute in (("end_energies", ("output", "energy")), ("end_forces", ("output", "forces"))):
        refs = warm.function_kwargs[key]
        assert all(isinstance(r, OutputReference) for r in refs)
        assert {r.uuid for r in refs} == relax_ids
        assert all(tuple(a[1] for a in r.attributes) == attribute for r in refs)


def test_vasp_engine_without_potcars_is_a_clear_error(interface, tmp_path):
    import os
    import subprocess

    path = tmp_path / "iface.json"
    interface.to(filename=str(path))
    env = {**os.environ, "PMG_VASP_PSP_DIR": ""}
    from ionflow.workflows.engines import ENGINES

    known = f"use {' or '.join(ENGINES)}"  # the unknown engine's fix names every registered one
    for engine, expected in (("vasp", "PMG_VASP_PSP_DIR"), ("castep", known)):
        run = subprocess.run(
            [
                "ionflow",
                "run",
                "charges",
                str(path),
                "--engine",
                engine,
                "--results",
                str(tmp_path / "r.json"),
            ],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert run.returncode == 2
        assert expected in run.stderr and "--engine" in run.stderr
    assert not (tmp_path / "r.json").exists() and not (tmp_path / "ionflow-runs").exists()
