"""Machine-learned warm start for CI-NEB: fewer expensive force calls per barrier.

1. Converge the whole CI-NEB on the cheap universal potential (CHGNet), from IDPP images
   between the end points the expensive engine relaxed.
2. Measure the expensive engine's NEB forces on that band once. If the largest is below
   ``fallback_force``, climb from the warm band on the expensive engine (climbing image on
   from the start); otherwise, or if that run does not converge, fall back to a plain CI-NEB
   from IDPP. Either way the run stops on the expensive engine's own ``fmax``, so the barrier
   is the expensive engine's.
No correction of the cheap surface is made (the issue's optional Δ-model step).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from ase.mep import NEB
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.workflows.embedded import CountedNebMaker, CountedRelaxMaker

NEB_KWARGS = {"method": "improvedtangent", "k": 5.0}


@dataclass
class BandRun:
    """One CI-NEB run on one engine."""

    images: list[Structure]
    energies: list[float]
    converged: bool
    force_calls: int
    wall_time_s: float
    start: str = "idpp"
    notes: list[str] = field(default_factory=list)


def relax_ends(
    initial: Structure, final: Structure, force_field: str, fmax: float, steps: int = 500
) -> tuple[Structure, Structure, int]:
    """Both end points relaxed at fixed cell on one engine, and the force calls it took."""
    maker = CountedRelaxMaker(
        force_field_name=force_field,
        relax_cell=False,
        steps=steps,
        # atomate2's relaxer otherwise appends to final_atoms_object.xyz in the working directory
        relax_kwargs={"fmax": fmax, "final_atoms_object_file": None},
    )
    first, last = (maker._run_ase_safe(s.copy()).final_mol_or_struct for s in (initial, final))
    return first, last, maker.force_calls


def climb_band(
    images: list[Structure],
    force_field: str,
    fmax: float,
    steps: int,
    dispersion: bool = False,
    climb: bool = True,
    method: str = NEB_KWARGS["method"],
) -> BandRun:
    """CI-NEB (ASE, through atomate2's forcefield NEB maker) from ``images``, end points fixed."""
    start = time.perf_counter()
    maker = CountedNebMaker(
        force_field_name=force_field,
        dispersion=dispersion,
        steps=steps,
        relax_kwargs={"fmax": fmax},
        neb_kwargs={**NEB_KWARGS, "climb": climb, "method": method},
    )
    result = maker._run_ase_safe(images=[s.copy() for s in images])
    return BandRun(
        images=list(result.images),
        energies=[float(e) for e in result.energies],
        converged=str(result.state.value) == "successful",
        force_calls=maker.force_calls,
        wall_time_s=time.perf_counter() - start,
    )


def band_max_force(images: list[Structure], force_field: str, dispersion: bool = False) -> tuple[float, int]:
    """Largest CI-NEB force (eV/Å) on the band's interior images, and the calls it took."""
    calculator = CountedNebMaker(force_field_name=force_field, dispersion=dispersion)._get_calculator()
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    for a in atoms:
        a.calc = calculator
    neb = NEB(atoms, climb=True, allow_shared_calculator=True, **NEB_KWARGS)
    forces = neb.get_forces()
    return float(np.sqrt((forces**2).sum(axis=1).max())), calculator.ionflow_counter.calls


def warm_started_band(
    images: list[Structure],
    cheap: str,
    expensive: str,
    fmax: float,
    steps: int,
    fallback_force: float = 1.0,
    dispersion: bool = False,
) -> tuple[BandRun, BandRun]:
    """The cheap band and the expensive CI-NEB started from it (or, on fallback, from ``images``).

    The expensive run's ``force_calls`` include the probe of the warm band and, after a
    fallback, the abandoned warm-started run: every expensive call is counted.
    """
    warm = climb_band(images, cheap, fmax, steps, dispersion)
    probe, probe_calls = band_max_force(warm.images, expensive, dispersion)
    notes = [f"expensive max force on the warm band {probe:.2f} eV/Å"]
    spent, spent_time = probe_calls, 0.0
    if probe <= fallback_force:
        run = climb_band(warm.images, expensive, fmax, steps, dispersion)
        run.start = "warm"
        if run.converged:
            run.force_calls += spent
            run.notes = notes
            return warm, run
        spent += run.force_calls
        spent_time += run.wall_time_s
        notes.append("warm-started band did not converge")
    else:
        notes.append(f"above the fallback limit {fallback_force} eV/Å")
    run = climb_band(images, expensive, fmax, steps, dispersion)
    run.start = "fallback: idpp"
    run.force_calls += spent
    run.wall_time_s += spent_time
    run.notes = notes
    return warm, run
