"""Plain CI-NEB vs machine-learned warm start, on the same expensive engine (run on demand).

    python benchmarks/warm_start_neb.py [--expensive SevenNet] [--cheap CHGNet] [--fmax 0.05]
        [--end-fmax 0.005] [--images 3]
    python benchmarks/warm_start_neb.py --engine gpaw [--dft mode=pw,ecut=300,kspacing=1.0]
        [--workers 2]

What a user pays for one barrier, both ways, every expensive call counted:
- plain: the end points relaxed on the expensive engine from the built structures to
  ``--end-fmax`` (the flow's own relaxer and optimizer), then CI-NEB from IDPP;
- warm: the end points relaxed on the cheap potential and finished on the expensive engine by
  Δ-corrected rounds to the same criterion (``warm_end_points``,
  :mod:`ionflow.workflows.end_points`), then the warm-started band (a CHGNet band corrected at
  the end points, trust-region rounds of expensive calls on the band and steps on the
  Δ-corrected cheap surface; :mod:`ionflow.workflows.warm_start`), both bands to the same fmax
  on the expensive engine. The warm band's calls include the two end-point measurements.
"ratio" is the band's; "per barrier" counts the end points too. "dE ends" is the largest
difference between the two runs' relaxed end-point energies (target 0.01 eV). "Ea cheap" is the
cheap potential's own barrier on the same hop (its own end points and CI-NEB): how far off the
potential alone is. "2nd ion" is the largest shift of any other atom between the plain run's
relaxed end points (a second ion moving with the hopping one makes the hop concerted, not
elementary). "lowest image" is the band's lowest interior image against its lower end point
(positive: the end points are minima of the band, plain / warm).

Engines and hops:
- ``--engine embedded`` (default): the expensive engine is ``--expensive`` (SevenNet-0, a second
  machine-learned potential standing in for DFT); six hops: Li and Cu in Li6PS5Cl with one Cu+
  (52 atoms, relaxed on CHGNet; the two shortest Li hops and the shortest Cu hop whose end
  points are two minima), a Li vacancy hop in bulk AP (1x1x4 with the interface's in-plane
  cell), next to the graphene of the AP/graphene interface and in that slab's centre.
- ``--engine gpaw``: GPAW's DFT (``--dft`` over the preset's ``neb_dft``; default plane waves
  at 300 eV, k-spacing 1.0 1/Å) on cells small enough for 2 cores: a Li vacancy hop in bulk AP
  (Li2OHCl0.75Br0.25, the 1x1x4 cell: 3.95 x 3.95 x 15.8 Å, 19 atoms with the vacancy), and the
  Cu+ hop and the shortest Li+ hop in the primitive cell of Li6PS5Cl with one Cu+ (Li5CuPS5Cl,
  rhombohedral, a = 7.0 Å, 12 atoms with the vacancy). Vacancies this close to their images are
  far from the dilute limit; both runs use the same cell and the same DFT, which is what the
  comparison needs. The plain DFT runs are kept in ``--baselines`` (with the commit, settings and
  date they were made with) and reused while the settings are the same: the output says so.

The hop groups run side by side, one process per core (``--workers``; GPAW
here is serial); every counted engine prints a progress line every 25 calls.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import multiprocessing
import statistics
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from pymatgen.core import Structure
from tabulate import tabulate

from ionflow.analysis.schemas import ONE_MINIMUM
from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.conductor import argyrodite_24g_model, build_dual_ion_conductor
from ionflow.inputs.files import atomic_write, exclusive_lock
from ionflow.inputs.hops import HopPath, find_hops, interpolate_idpp
from ionflow.inputs.interface import build_ap_graphene_interface
from ionflow.workflows.cli import dft_options
from ionflow.workflows.demo import dual_ion_hops, interface_vs_bulk_hops
from ionflow.workflows.embedded import relaxed_host
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.migration import relaxed_hop_length
from ionflow.workflows.settings import DFT_MODEL, NebDftSettings, NebSettings
from ionflow.workflows.warm_start import climb_band, warm_started_band
from ionflow.workflows.workers import default_workers, threads_per_worker

BENCHMARK_DFT = {"mode": "pw", "ecut": 300.0, "kspacing": 1.0}
"""GPAW settings of ``--engine gpaw`` (over the preset's neb_dft) unless ``--dft`` gives others."""


def potential_hops(n_images: int) -> list[tuple[list, int]]:
    """Candidate hops of the potentials' benchmark, shortest first, and how many of each group."""
    argyrodite = dual_ion_hops(n_images, max_hops=6)
    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    model = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.08, vacuum=8.0)
    ap_hops = interface_vs_bulk_hops(ap, model, n_images)
    groups = [([h for h in argyrodite if h.species == sp], n) for sp, n in (("Li", 2), ("Cu", 1))]
    return groups + [([h], 1) for h in ap_hops]  # bulk, next to the graphene, slab centre


def dft_hops(n_images: int) -> list[tuple[list, int]]:
    """Small cells for DFT: bulk AP (1x1x4) and the primitive Li5CuPS5Cl (see the module doc)."""
    small = {"n_images": n_images, "min_length": 3.0, "min_atoms": 1, "max_hops": 6}
    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    primitive = argyrodite_24g_model().get_primitive_structure()  # 13 atoms, F-43m's primitive cell
    ranked, _ = build_dual_ion_conductor(primitive, n_cu=1, keep=1, rank_by="ewald")
    host = relaxed_host(ranked[0].structure, "CHGNet")  # from rattled positions: 24g Li sit on saddles
    in_cell = {**small, "max_atoms": len(host)}  # the primitive cell itself, not a supercell
    conductor = {sp: find_hops(host, sp, host_name="Li5CuPS5Cl", **in_cell) for sp in ("Cu", "Li")}
    return [
        (find_hops(ap, "Li", host_name="AP", **small), 1),
        (conductor["Cu"], 1),
        (conductor["Li"], 1),
    ]


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


def commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return out.stdout.strip()


SAME_HOP = 0.01
"""Å: largest difference of any atom's built position for a kept plain run to be reused."""


class Baselines:
    """The plain runs kept in a JSON file, by hop and settings, with when and where they were made."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.runs = json.loads(path.read_text()) if path and path.exists() else {}

    @staticmethod
    def key(hop: HopPath, settings: NebSettings) -> str:
        return f"{hop.host} {hop.hop_id} {hop.species} {len(hop.initial)} atoms {settings.model_dump_json()}"

    def get(self, hop: HopPath, settings: NebSettings) -> dict | None:
        """The kept run of ``hop`` with these settings, if its end points as built are the same
        within :data:`SAME_HOP` Å (a host relaxed on CHGNet for the hops is not bit-for-bit the
        same from one run to the next: an exact hash missed it)."""
        run = self.runs.get(self.key(hop, settings))
        if run is None or "built" not in run:
            return None
        kept = np.array(run["built"])
        built = np.array([hop.initial.cart_coords, hop.final.cart_coords])
        return run if kept.shape == built.shape and np.abs(kept - built).max() < SAME_HOP else None

    def put(self, hop: HopPath, settings: NebSettings, run: dict) -> None:
        if self.path is None:
            return
        made = {"commit": commit(), "date": datetime.date.today().isoformat()}
        # read again under the lock: hop groups run side by side and each keeps its own runs
        with exclusive_lock(self.path.with_suffix(".lock"), "the kept plain runs"):
            kept = json.loads(self.path.read_text()) if self.path.exists() else {}
            built = [hop.initial.cart_coords.tolist(), hop.final.cart_coords.tolist()]
            self.runs = {**kept, self.key(hop, settings): {**run, **made, "built": built}}
            atomic_write(self.path, json.dumps(self.runs, indent=1).encode())


def plain_run(hop: HopPath, settings: NebSettings, args) -> dict | None:
    """End points relaxed on the expensive engine from the built ones, then CI-NEB from IDPP;
    None when the end points relax into one minimum (no hop)."""
    t0 = time.perf_counter()
    ends = relaxed_end_points(hop.initial, hop.final, settings)
    separation = relaxed_hop_length(ends.initial, ends.final, hop.moving_index)
    if separation < ONE_MINIMUM:  # the migration flow's own test (no hop, no NEB)
        print(
            f"  {hop.host} {hop.species} {hop.hop_id} skipped: its end points relax to one minimum "
            f"(hopping ion {separation:.2f} Å apart after relaxation)",
            flush=True,
        )
        return None
    images = interpolate_idpp(ends.initial, ends.final, args.images)
    band = climb_band(
        images, settings.model, args.fmax, args.steps, calculator_kwargs=settings.calculator_kwargs
    )
    return {
        "end_calls": ends.force_calls,
        "end_energies": ends.energies,
        "second_ion": other_ion_shift(ends.initial, ends.final, hop.moving_index),
        "band_calls": band.force_calls,
        "energies": band.energies,
        "converged": ends.converged and band.converged,
        "wall_time_s": time.perf_counter() - t0,
    }


def warm_run(hop: HopPath, settings: NebSettings, args) -> dict:
    """End points on the cheap potential finished by Δ-corrected rounds, then the warm band."""
    t0 = time.perf_counter()
    warm = settings.model_copy(update={"warm_start": args.cheap, "warm_end_points": True})
    ends = relaxed_end_points(hop.initial, hop.final, warm)
    images = interpolate_idpp(ends.initial, ends.final, args.images)
    _, band = warm_started_band(
        images, args.cheap, settings.model, args.fmax, args.steps, expensive_kwargs=settings.calculator_kwargs
    )
    return {
        "end_calls": ends.force_calls,
        "end_energies": ends.energies,
        "band_calls": band.force_calls,
        "energies": band.energies,
        "converged": ends.converged and band.converged,
        "start": band.start,
        "rounds": band.notes[0].split(": ")[-1].count(",") + 1 if band.notes else 0,
        "wall_time_s": time.perf_counter() - t0,
    }


def cheap_barrier(hop: HopPath, args) -> float:
    """The cheap potential's own barrier: its end points, then its CI-NEB from IDPP."""
    ends = relaxed_end_points(
        hop.initial, hop.final, NebSettings(model=args.cheap, end_point_fmax=args.end_fmax)
    )
    images = interpolate_idpp(ends.initial, ends.final, args.images)
    return barrier(climb_band(images, args.cheap, args.fmax, args.steps).energies)


def group_rows(
    candidates: list[HopPath], wanted: int, settings: NebSettings, args, baselines: Baselines
) -> list[tuple[list, float, float]]:
    """The first ``wanted`` hops of a group whose plain end points are two minima, each as
    (table row, band ratio, per-barrier ratio); one group per worker when side by side."""
    tag = f"{candidates[0].host} {candidates[0].species}" if candidates else ""
    logging.basicConfig(format=f"    [{tag}] %(message)s", force=True)  # in a worker process too
    for name in ("ionflow.workflows.warm_start", "ionflow.workflows.force_calls"):
        logging.getLogger(name).setLevel(logging.INFO)
    found = []
    for hop in candidates:
        if len(found) == wanted:
            break
        result = hop_row(hop, settings, args, baselines)
        if result is not None:
            found.append(result)
    return found


def hop_row(
    hop: HopPath, settings: NebSettings, args, baselines: Baselines
) -> tuple[list, float, float] | None:
    """One hop, plain (kept or run) and warm: its table row and ratios; None when not a hop."""
    t0 = time.perf_counter()
    plain = baselines.get(hop, settings)
    kept = plain is not None
    if plain is None:
        print(
            f"  {hop.host} {hop.species} {hop.hop_id}: plain run (end points, then CI-NEB)...",
            flush=True,
        )
        plain = plain_run(hop, settings, args)
        if plain is None:
            return None
        baselines.put(hop, settings, plain)
    print(
        f"  {hop.host} {hop.species} {hop.hop_id}: plain "
        f"{plain['end_calls']}+{plain['band_calls']} calls{' (kept)' if kept else ''}; warm start...",
        flush=True,
    )
    fast = warm_run(hop, settings, args)
    ratio = plain["band_calls"] / max(fast["band_calls"], 1)
    whole = (plain["end_calls"] + plain["band_calls"]) / (fast["end_calls"] + fast["band_calls"])
    diff = barrier(fast["energies"]) - barrier(plain["energies"])
    d_ends = max(abs(a - b) for a, b in zip(fast["end_energies"], plain["end_energies"], strict=True))
    converged = plain["converged"] and fast["converged"]
    row = [
        f"{hop.host} {hop.species} {hop.hop_id}",
        len(hop.initial),
        f"{plain['second_ion']:.2f}",
        plain["end_calls"],
        fast["end_calls"],
        plain["band_calls"],
        fast["band_calls"],
        f"{ratio:.1f}x",
        f"{whole:.2f}x",
        f"{d_ends:.4f}",
        f"{barrier(plain['energies']):.3f}",
        f"{barrier(fast['energies']):.3f}",
        f"{diff:+.3f}",
        "yes" if abs(diff) <= 0.03 and d_ends <= 0.01 else "NO",
        f"{cheap_barrier(hop, args):.3f}",
        f"{lowest_image(plain['energies']):+.3f} / {lowest_image(fast['energies']):+.3f}",
        f"{plain['wall_time_s']:.0f}" + (" (kept)" if kept else ""),
        f"{fast['wall_time_s']:.0f}",
        fast["start"],
        fast["rounds"],
        ("" if converged else "not converged")
        + (f"plain kept from {plain['date']} ({plain['commit']})" if kept else ""),
    ]
    print(
        f"  {row[0]}: calls {plain['end_calls']}+{plain['band_calls']} plain, "
        f"{fast['end_calls']}+{fast['band_calls']} warm ({fast['start']}); Ea {row[10]} vs "
        f"{row[11]} eV; done in {time.perf_counter() - t0:.0f} s",
        flush=True,
    )
    return row, ratio, whole


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--engine", choices=("embedded", "gpaw"), default="embedded")
    parser.add_argument("--expensive", default="SevenNet", help="embedded: the potential standing in for DFT")
    parser.add_argument("--dft", type=dft_options, default=None, help="gpaw: KEY=VALUE,... over neb_dft")
    parser.add_argument("--cheap", default="CHGNet")
    parser.add_argument("--fmax", type=float, default=0.05)
    parser.add_argument("--end-fmax", type=float, default=0.005, help="end-point relaxation (eV/Å)")
    parser.add_argument("--images", type=int, default=3)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--max-hops", type=int, default=6)
    parser.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        help="hop groups side by side, one process each (default: one per core; GPAW is serial)",
    )
    parser.add_argument(
        "--baselines",
        type=Path,
        default=None,
        help="JSON file of kept plain runs (default for gpaw: benchmarks/warm_start_gpaw_baselines.json)",
    )
    args = parser.parse_args()
    logging.basicConfig(format="    %(message)s")
    logging.getLogger("ionflow.workflows.warm_start").setLevel(logging.INFO)
    logging.getLogger("ionflow.workflows.force_calls").setLevel(logging.INFO)  # hours on DFT: progress

    if args.engine == "gpaw":
        dft = NebDftSettings(**{**BENCHMARK_DFT, **(args.dft or {})})
        settings = NebSettings(model=DFT_MODEL, dft=dft, end_point_fmax=args.end_fmax)
        groups = dft_hops(args.images)
        baselines = Baselines(args.baselines or Path(__file__).with_name("warm_start_gpaw_baselines.json"))
    else:
        settings = NebSettings(model=args.expensive, end_point_fmax=args.end_fmax)
        groups = potential_hops(args.images)
        baselines = Baselines(args.baselines)
    print(
        f"expensive engine: {settings.engine}; cheap: {args.cheap}; fmax {args.fmax} eV/Å; "
        f"end points relaxed to {args.end_fmax} eV/Å; {args.images} images"
    )
    wanted = []  # each group's hops, all groups together at most --max-hops
    for _, n in groups:
        wanted.append(max(0, min(n, args.max_hops - sum(wanted))))
    todo = [(candidates, n) for (candidates, _), n in zip(groups, wanted, strict=True) if n]
    workers = max(1, min(args.workers, len(todo)))
    print(f"{len(todo)} hop groups, {workers} side by side", flush=True)
    if workers == 1:
        done = [group_rows(candidates, n, settings, args, baselines) for candidates, n in todo]
    else:
        with (
            threads_per_worker(max(1, default_workers() // workers)),
            ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool,
        ):
            futures = [pool.submit(group_rows, c, n, settings, args, baselines) for c, n in todo]
            done = [future.result() for future in futures]
    results = [row for group in done for row in group]
    rows = [row for row, _, _ in results]
    ratios = [ratio for _, ratio, _ in results]
    per_barrier = [whole for _, _, whole in results]
    headers = [
        "hop",
        "atoms",
        "2nd ion (Å)",
        "end calls plain",
        "end calls warm",
        "band calls plain",
        "band calls warm",
        "ratio",
        "per barrier",
        "dE ends (eV)",
        "Ea plain (eV)",
        "Ea warm (eV)",
        "diff",
        "on target",
        f"Ea {args.cheap} (eV)",
        "lowest image (eV)",
        "t plain (s)",
        "t warm (s)",
        "start",
        "rounds",
        "note",
    ]
    print(tabulate(rows, headers=headers, tablefmt="github"))
    print(f"median ratio of expensive force calls: {statistics.median(ratios):.1f}x over {len(rows)} hops")
    print(
        "median ratio of expensive calls per barrier, end points included: "
        f"{statistics.median(per_barrier):.2f}x"
    )


if __name__ == "__main__":
    main()
