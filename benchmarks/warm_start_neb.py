"""Plain CI-NEB vs machine-learned warm start, on the same expensive engine (run on demand).

    python benchmarks/warm_start_neb.py [--expensive SevenNet] [--cheap CHGNet] [--fmax 0.05]
        [--end-fmax 0.005] [--images 3]

Six hops: Li and Cu in Li6PS5Cl with one Cu+ (the two shortest Li hops and the shortest Cu
hop whose relaxed end points are two minima, cut into the conductor relaxed on CHGNet: in the
three shortest Li hops the vacancy pulls the ion onto the site between, both end points relax
to one structure and there is no hop; they are listed as skipped), a Li vacancy hop in bulk
AP, one next to the graphene of the AP/graphene interface and one in that slab's centre (both
AP hosts relaxed on CHGNet from rattled positions first: as built they sit on symmetric
saddles).

For each: end points relaxed on the expensive engine to ``--end-fmax`` by the flow's own
relaxer (:func:`ionflow.workflows.end_points.relaxed_end_points`, the preset's optimizer), the
same for both runs: the band ratio leaves them out, the per-barrier ratio counts them.
Tight, because at 0.05 eV/Å the graphene sheet's rigid shift along the stacking axis, a soft
collective mode with every C atom under the criterion, leaves an end point up to 0.5 eV
above its minimum; both bands then dip below it and settle on different sheet heights.
Then a plain CI-NEB from IDPP and the warm-started one (:mod:`ionflow.workflows.warm_start`:
a CHGNet band corrected at the end points, then trust-region rounds of expensive calls on the
band and steps on the Δ-corrected cheap surface), both to the same fmax on the expensive
engine; the warm-started calls include the end points' two. "t warm" is the warm-started run's
whole wall time (CHGNet included). "2nd ion" is the largest shift of any other atom between
the relaxed end points (a second ion moving with the hopping one makes the hop a concerted
one, not elementary). "lowest image" is the band's lowest interior image against its lower end
point (positive: the end points are minima of the band, plain / warm). The expensive engine
here is a second machine-learned potential (SevenNet-0, its weights ship in its wheel),
standing in for DFT, which does not finish this in a benchmark's time on 2 cores.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

from pymatgen.core import Structure
from tabulate import tabulate

from ionflow.analysis.schemas import ONE_MINIMUM
from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.hops import interpolate_idpp
from ionflow.inputs.interface import build_ap_graphene_interface
from ionflow.workflows.demo import dual_ion_hops, interface_vs_bulk_hops
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.migration import relaxed_hop_length
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import climb_band, warm_started_band


def hop_groups(n_images: int) -> list[tuple[list, int]]:
    """Candidate hops, shortest first, and how many of each group the benchmark takes."""

    argyrodite = dual_ion_hops(n_images, max_hops=6)
    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    model = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.08, vacuum=8.0)
    ap_hops = interface_vs_bulk_hops(ap, model, n_images)
    groups = [([h for h in argyrodite if h.species == sp], n) for sp, n in (("Li", 2), ("Cu", 1))]
    return groups + [([h], 1) for h in ap_hops]  # bulk, next to the graphene, slab centre


def barrier(energies: list[float]) -> float:
    return max(energies) - energies[0]


def lowest_image(energies: list[float]) -> float:
    """Lowest interior image relative to the lower end point: positive when both end points are
    minima of the band, as they must be for the barrier to be one."""
    return min(energies[1:-1]) - min(energies[0], energies[-1])


def other_ion_shift(initial: Structure, final: Structure, moving: int) -> float:
    """Largest shift (Å) of any atom but the hopping one between the relaxed end points: well
    under the hop length for an elementary hop; comparable to it when a second ion moves too."""
    return max(initial[k].distance(final[k]) for k in range(len(initial)) if k != moving)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expensive", default="SevenNet")
    parser.add_argument("--cheap", default="CHGNet")
    parser.add_argument("--fmax", type=float, default=0.05)
    parser.add_argument("--end-fmax", type=float, default=0.005, help="end-point relaxation (eV/Å)")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--max-hops", type=int, default=6)
    args = parser.parse_args()
    logging.basicConfig(format="    %(message)s")
    logging.getLogger("ionflow.workflows.warm_start").setLevel(logging.INFO)

    # the flow's own end-point relaxer and settings (optimizer, steps), on the expensive engine
    end_settings = NebSettings(model=args.expensive, end_point_fmax=args.end_fmax)

    print(
        f"expensive engine: {args.expensive} (stands in for DFT); cheap: {args.cheap}; "
        f"fmax {args.fmax} eV/Å; "
        f"end points relaxed to {args.end_fmax} eV/Å"
    )
    rows, ratios, per_barrier = [], [], []
    chosen = []
    for candidates, wanted in hop_groups(args.images):
        taken = 0
        for hop in candidates:
            if taken == wanted:
                break
            ends = relaxed_end_points(hop.initial, hop.final, end_settings)
            separation = relaxed_hop_length(ends.initial, ends.final, hop.moving_index)
            if separation < ONE_MINIMUM:  # the migration flow's own test (no hop, no NEB)
                print(
                    f"  {hop.host} {hop.species} {hop.hop_id} skipped: its end points relax to one minimum "
                    f"(hopping ion {separation:.2f} Å apart after relaxation)",
                    flush=True,
                )
                continue
            chosen.append((hop, ends))
            taken += 1
    for hop, ends in chosen[: args.max_hops]:
        initial, final, end_calls = ends.initial, ends.final, ends.force_calls
        t0 = time.perf_counter()
        images = interpolate_idpp(initial, final, args.images)
        plain = climb_band(images, args.expensive, args.fmax, args.steps)
        _, fast = warm_started_band(images, args.cheap, args.expensive, args.fmax, args.steps)
        ratio = plain.force_calls / max(fast.force_calls, 1)
        ratios.append(ratio)
        # what a user pays for one barrier: the end points (the same for both) plus the band
        per_barrier.append((end_calls + plain.force_calls) / (end_calls + fast.force_calls))
        diff = barrier(fast.energies) - barrier(plain.energies)
        rows.append(
            [
                f"{hop.host} {hop.species} {hop.hop_id}",
                len(hop.initial),
                f"{other_ion_shift(initial, final, hop.moving_index):.2f}",
                plain.force_calls,
                fast.force_calls,
                f"{ratio:.1f}x",
                end_calls,
                f"{per_barrier[-1]:.2f}x",
                f"{barrier(plain.energies):.3f}",
                f"{barrier(fast.energies):.3f}",
                f"{diff:+.3f}",
                "yes" if abs(diff) <= 0.03 else "NO",
                f"{lowest_image(plain.energies):+.3f} / {lowest_image(fast.energies):+.3f}",
                f"{plain.wall_time_s:.0f}",
                f"{fast.wall_time_s:.0f}",
                fast.start,
                fast.notes[0].split(": ")[-1].count(",") + 1,
                "" if plain.converged and fast.converged else "not converged",
            ]
        )
        print(
            f"  {rows[-1][0]}: calls {plain.force_calls} plain, {fast.force_calls} warm ({fast.start}); "
            f"Ea {barrier(plain.energies):.3f} vs {barrier(fast.energies):.3f} eV; "
            f"end points {end_calls} calls; done in {time.perf_counter() - t0:.0f} s",
            flush=True,
        )
    headers = [
        "hop",
        "atoms",
        "2nd ion (Å)",
        "calls plain",
        "calls warm",
        "ratio",
        "end-point calls",
        "per barrier",
        "Ea plain (eV)",
        "Ea warm (eV)",
        "diff",
        "<=0.03",
        "lowest image (eV)",
        "t plain (s)",
        "t warm (s)",
        "start",
        "rounds",
        "note",
    ]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    print(f"median ratio of expensive force calls: {statistics.median(ratios):.1f}x over {len(rows)} hops")
    median_per_barrier = statistics.median(per_barrier)
    print(
        f"median ratio of expensive calls per barrier, end points included: {median_per_barrier:.2f}x "
        f"(the end points are relaxed on the expensive engine for both runs)"
    )


if __name__ == "__main__":
    main()
