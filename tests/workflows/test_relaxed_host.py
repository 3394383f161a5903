"""Hosts are relaxed from rattled positions: a model built on ideal sites is a stationary point
by symmetry, and a relaxation that starts on it stays there even where it is a saddle."""

from __future__ import annotations

import numpy as np
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.workflows.embedded import relax_positions, relaxed_host
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
