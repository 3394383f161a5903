"""Hosts are relaxed from rattled positions: a model built on ideal sites is a stationary point
by symmetry, and a relaxation that starts on it stays there even where it is a saddle."""

from __future__ import annotations

import json

import numpy as np
from jobflow import Flow
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.analysis.store import results_store
from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.workflows.cli import expected_jobs, run_flows
from ionflow.workflows.embedded import largest_norm, relax_positions, relaxed_host
from ionflow.workflows.host_hops import host_barriers_job, relaxed_hop_host
from ionflow.workflows.migration import MigrationBarrierMaker
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import counted_calculator


def energy(structure) -> float:
    atoms = AseAtomsAdaptor.get_atoms(structure)
    atoms.calc = counted_calculator("CHGNet")
    return float(atoms.get_potential_energy())


def test_relaxed_host_leaves_the_symmetric_saddle_it_was_built_on():
    """Li2OHCl, 1x1x2 (10 atoms), every O-H along a cube axis as built: relaxed as built it
    stays on that stationary point; relaxed from rattled positions it falls lower, with its
    site labels kept."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 2), keep=1)[0][0].structure
    ap.add_site_property("region", ["AP"] * len(ap))
    (as_built,), _ = relax_positions([ap], "CHGNet", fmax=0.02, steps=200)
    host = relaxed_host(ap, "CHGNet", steps=200)
    assert energy(host) < energy(as_built) - 0.02  # eV per 10-atom cell
    assert host.site_properties["region"] == ["AP"] * len(ap)
    assert host.lattice == ap.lattice  # fixed cell
    # the O-H of the built cell lie along the cube axes; in the relaxed host they do not
    tilts = []
    for o in (i for i, s in enumerate(host) if s.specie.symbol == "O"):
        h = min(
            (i for i, s in enumerate(host) if s.specie.symbol == "H"), key=lambda i: host.get_distance(o, i)
        )
        _, image = host[o].distance_and_image(host[h])
        bond = host.lattice.get_cartesian_coords(host[h].frac_coords + image) - host[o].coords
        tilts.append(np.degrees(np.arccos(np.abs(bond).max() / np.linalg.norm(bond))))
    assert max(tilts) > 1.0


def test_a_host_relaxed_like_an_end_point_is_its_vacancy_hops_relaxed_initial_state():
    """The host job relaxes its host on to the end points' criterion: a vacancy hop's initial
    state is the host itself, so each hop's initial end point is then already a minimum (its
    largest force below the criterion), its region labels and cell kept."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 2), keep=1)[0][0].structure
    ap.add_site_property("region", ["AP"] * len(ap))
    settings = NebSettings(n_images=3, end_point_fmax=0.01)
    host = relaxed_host(ap, "CHGNet", steps=200)  # to its own 0.02 eV/Å
    tight = relaxed_hop_host(ap, settings)  # the host job's: that, then as an end point
    atoms = AseAtomsAdaptor.get_atoms(tight)
    atoms.calc = counted_calculator("CHGNet")
    assert largest_norm(atoms.get_forces()) < settings.end_point_fmax
    assert energy(tight) <= energy(host) + 1e-4
    assert tight.site_properties["region"] == ["AP"] * len(ap) and tight.lattice == ap.lattice


def test_a_host_relaxed_in_its_job_replaces_itself_by_its_hops_bands(tmp_path):
    """The bulk AP hop of the main job, its host relaxed inside the flow: the job relaxes the
    10-atom Li2OHCl cell, cuts the Li vacancy hop and is replaced by its CI-NEB flow; the run
    counts the jobs it announced and stores the barrier, whose end points are minima."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 2), keep=1)[0][0].structure
    maker = MigrationBarrierMaker(settings=NebSettings(n_images=3, end_point_fmax=0.02))
    relax_and_cut = host_barriers_job(ap, "AP bulk", "AP bulk", maker)
    flow = Flow([relax_and_cut], output=relax_and_cut.output)
    # relax + cut; end points and band of one hop; jobflow's job handing the output on
    assert expected_jobs(flow) == 4
    store = results_store(str(tmp_path / "r.json"))
    assert run_flows([("bulk hop", flow)], store, tmp_path / "runs") == (4, 0)
    docs = json.loads((tmp_path / "r.json").read_text())
    (barrier,) = [d for d in docs if d["doc_type"] == "MigrationBarrierDoc"]
    assert barrier["host"] == "AP bulk" and barrier["location"] == "bulk" and barrier["species"] == "Li"
    energies = barrier["energies"]
    assert min(energies) >= min(energies[0], energies[-1]) - 0.01  # no image below an end point
    assert 0.1 < barrier["forward_barrier"] < 1.5  # a Li vacancy hop in AP (0.3-0.6 eV reported)
