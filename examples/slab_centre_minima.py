"""Does the main job's slab-centre hop end in its lowest final state? (docs/main-job.md)

The AP slab under the graphene and under the (5,0) tube is the same slab. This relaxes both
slab-centre hops' end points as the main job does (CHGNet, its end-point settings), then
starts the graphene's final state from the tube's relaxed final state (the AP atoms moved
into the graphene's cell) and prints each ΔE. Measured 2026-12-07: 0.41, 0.25 and 0.24 eV:
the graphene's relaxation stops 0.17 eV above a final minimum that exists in its slab.

    python examples/slab_centre_minima.py      # about 10 minutes on 2 cores
"""

from __future__ import annotations

from pymatgen.core import Structure

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.hops import HopPath, ap_interface_vacancy_hops
from ionflow.inputs.interface import REGION, InterfaceModel, build_ap_graphene_interface
from ionflow.workflows.demo import smallest_tube_on_ap
from ionflow.workflows.embedded import relaxed_host
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.settings import NebSettings


def slab_centre_hop(model: InterfaceModel) -> HopPath:
    """The main job's slab-centre hop of ``model`` (its host relaxed as the flow relaxes it)."""
    hops = ap_interface_vacancy_hops(relaxed_host(model.structure, "CHGNet"), n_images=3)
    return next(hop for hop in hops if hop.location == "slab-centre")


def with_ap_atoms_of(target: Structure, source: Structure, relaxed: Structure) -> Structure:
    """``target`` with its AP atoms where ``relaxed`` (``source`` relaxed: same atoms, same
    order) has them; the slab's centre put where ``target``'s was."""
    ap_t = [i for i, r in enumerate(target.site_properties[REGION]) if r == "AP"]
    ap_s = [i for i, r in enumerate(source.site_properties[REGION]) if r == "AP"]
    assert [target[i].specie for i in ap_t] == [source[i].specie for i in ap_s]
    xyz = relaxed.cart_coords[ap_s]
    shift = target.cart_coords[ap_t].mean(axis=0) - xyz.mean(axis=0)
    out = target.copy()
    for i, position in zip(ap_t, xyz + shift, strict=True):
        out.replace(i, target[i].species, position, True, target[i].properties)
    return out


def main() -> None:
    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    graphene = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.08, vacuum=8.0)
    settings = NebSettings(n_images=3)
    ends = {}
    for name, model in (("graphene", graphene), ("tube", smallest_tube_on_ap(ap))):
        hop = slab_centre_hop(model)
        ends[name] = (hop, relaxed_end_points(hop.initial, hop.final, settings))
        e_i, e_f = ends[name][1].energies
        print(f"{name}: slab-centre final state from the cut positions, ΔE {e_f - e_i:.3f} eV", flush=True)
    hop, graphene_ends = ends["graphene"]
    tube_hop, tube_ends = ends["tube"]
    final = with_ap_atoms_of(hop.final, tube_hop.final, tube_ends.final)
    moved = relaxed_end_points(graphene_ends.initial, final, settings)
    e_f = moved.energies[1] - graphene_ends.energies[0]
    print(f"graphene: the same final state started from the tube's minimum, ΔE {e_f:.3f} eV")


if __name__ == "__main__":
    main()
