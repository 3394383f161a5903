"""Do the slab check's AP hops end in the lowest minima on their sites? (docs/main-job.md)

Relaxes the end points of the bulk AP hop and of its copies in the slab centre under graphene
and under the (5,0) tube, on slabs of two bulk cells (``ionflow run demo --slab-check``; CHGNet,
the main job's end-point settings) twice: from the cut positions only (the search switched off),
and as the flows do, where an end point whose ion drifted more than ``end_point_site_drift`` from
its site is searched again with the ion pinned at the site first. Prints ΔE and each end point's
drift from its site. Measured 2026-12-07 on the main job's former slab-centre hop (one bulk cell,
the Li nearest the middle): the graphene's final state drifted 1.3 Å (ΔE 0.41 eV); pinned, it
stayed on its site 0.23 eV lower (ΔE 0.18 eV). Not rerun on the two-cell slabs.

    python examples/slab_centre_minima.py      # about 30 minutes on 2 cores
"""

from __future__ import annotations

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.hops import HopPath
from ionflow.workflows.demo import graphene_on_ap, interface_vs_bulk_hops, smallest_tube_on_ap
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.settings import NebSettings


def main_job_hops() -> list[HopPath]:
    """The bulk hop and its slab-centre copies under graphene and under the tube (slabs of two
    bulk cells), cut as the flows cut them (hosts relaxed on CHGNet)."""
    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    bulk, *under_graphene = interface_vs_bulk_hops(ap, graphene_on_ap(ap, "Li2OH", 2), n_images=3)
    _, *under_tube = interface_vs_bulk_hops(ap, smallest_tube_on_ap(ap, 2), n_images=3)
    centre = [hop for hop in under_graphene + under_tube if hop.location == "slab-centre"]
    return [bulk, *centre]


def main() -> None:
    searched = NebSettings(n_images=3)
    from_cut = searched.model_copy(update={"end_point_site_drift": 1e3})  # never searched again
    for hop in main_job_hops():
        for label, settings in (("from the cut", from_cut), ("site-searched", searched)):
            ends = relaxed_end_points(hop.initial, hop.final, settings)
            drift = ", ".join(f"{d:.2f}" for d in ends.site_drift)
            print(
                f"{hop.host} {hop.location}, {label}: ΔE {ends.energies[1] - ends.energies[0]:.3f} eV, "
                f"ion off its site by {drift} Å (initial, final)",
                flush=True,
            )


if __name__ == "__main__":
    main()
