"""Machine-learned warm start for CI-NEB: fewer expensive force calls per barrier.

1. Converge the whole CI-NEB on the cheap universal potential (CHGNet), from IDPP images
   between the end points the expensive engine relaxed.
2. Measure the expensive engine's energies and forces on that band (one call per image). If
   its CI-NEB force is below ``fmax``, done; if it is above ``fallback_force``, fall back.
3. Otherwise correct the cheap surface with the calls just made (a first-order Δ-model per
   image, exact at the measured configuration), relax the band as a CI-NEB on the corrected
   surface within a trust radius, and measure again (step 2).
4. The run stops on the expensive engine's own CI-NEB force below ``fmax``, the criterion of
   plain CI-NEB, so the barrier is the expensive engine's. When the rounds diverge (the force
   rises above ``DIVERGING`` times its lowest) or ``max_rounds`` pass, the expensive CI-NEB
   climbs from the best band measured; if that fails too, a plain CI-NEB from IDPP runs
   (every expensive call of the abandoned attempts is counted).
For VASP on a cluster, step 1 supplies VASP's images (``warm_start_images``), whose CI-NEB
climbs from there.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.singlepoint import SinglePointCalculator
from ase.mep import NEB
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.workflows.embedded import CountedNebMaker, CountedRelaxMaker

LOG = logging.getLogger(__name__)
NEB_KWARGS = {"method": "improvedtangent", "k": 5.0}
DAMPING = 0.5
"""Fraction of the step to the corrected surface's band taken each round: where the cheap
surface is softer than the expensive one along a mode, a full step overshoots (seen on Li3OCl:
rounds that oscillate instead of converging)."""
DIVERGING = 1.5
"""Rounds stop when the expensive force exceeds this multiple of the lowest one measured."""


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
    calculator = counted_calculator(force_field, dispersion)
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    for a in atoms:
        a.calc = calculator
    return neb_max_force(
        NEB(atoms, climb=True, allow_shared_calculator=True, **NEB_KWARGS)
    ), calculator.ionflow_counter.calls


def counted_calculator(force_field: str, dispersion: bool = False) -> Calculator:
    """An engine's ASE calculator (cheap or expensive), its force calls counted
    (``.ionflow_counter.calls``)."""
    return CountedNebMaker(force_field_name=force_field, dispersion=dispersion)._get_calculator()


def neb_max_force(neb: NEB) -> float:
    """Largest per-atom force (eV/Å) of ``neb``'s interior images: ASE's CI-NEB convergence measure."""
    forces = neb.get_forces()
    return float(np.sqrt((forces**2).sum(axis=1).max()))


class FirstOrderCorrection(Calculator):
    """The cheap surface plus a first-order correction anchored at one configuration X0:

    E(X) = E_cheap(X) + dE - dF . (X - X0),   F(X) = F_cheap(X) + dF,

    with dE, dF the expensive-minus-cheap energy and forces at X0, so that energy and forces
    equal the expensive engine's at X0 and the correction is conservative (a Δ-model fitted
    to the expensive calls already made, one per NEB image).
    """

    implemented_properties = ("energy", "forces")

    def __init__(self, cheap: Calculator, anchor: np.ndarray, d_energy: float, d_forces: np.ndarray):
        super().__init__()
        self.cheap, self.anchor = cheap, anchor.copy()
        self.d_energy, self.d_forces = d_energy, d_forces.copy()

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        probe = self.atoms.copy()
        probe.calc = self.cheap
        shift = self.atoms.positions - self.anchor
        self.results = {
            "energy": probe.get_potential_energy() + self.d_energy - float((self.d_forces * shift).sum()),
            "forces": probe.get_forces() + self.d_forces,
        }


@dataclass
class CorrectedBand:
    """A CI-NEB converged against the expensive engine's forces, moved on the corrected surface."""

    images: list[Structure]
    """The band with the lowest expensive force measured (the last one when converged)."""
    energies: list[float]
    converged: bool
    force_calls: int
    rounds: list[float]
    """Expensive max NEB force (eV/Å) of the band at each round."""


def _evaluate(atoms: Atoms, calculator: Calculator) -> tuple[float, np.ndarray]:
    probe = atoms.copy()
    probe.calc = calculator
    return float(probe.get_potential_energy()), probe.get_forces()


def corrected_band(
    images: list[Structure],
    cheap: str,
    expensive: str,
    fmax: float,
    max_rounds: int = 12,
    trust: float = 0.1,
    fallback_force: float = 1.0,
    dispersion: bool = False,
    inner_steps: int = 300,
) -> CorrectedBand:
    """Converge a CI-NEB on the expensive engine from a warm band, spending expensive calls only
    on the band itself.

    Each round: the expensive engine's energies and forces on the interior images (one call
    each); stop when the CI-NEB force from them is below ``fmax`` (the plain CI-NEB criterion).
    Otherwise each image gets the cheap surface with a first-order correction anchored at its
    configuration (:class:`FirstOrderCorrection`), the band is relaxed as a CI-NEB on that
    surface, then each image takes ``DAMPING`` of its step from its anchor, at most ``trust`` Å
    for any atom, and the next round measures it. The end points are evaluated once. Gives up
    (``converged`` False) when the first round's force exceeds ``fallback_force`` or after
    ``max_rounds``.
    """
    from ase.optimize import FIRE

    exact = counted_calculator(expensive, dispersion)
    base = counted_calculator(cheap, dispersion)
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    ends = [_evaluate(atoms[i], exact) for i in (0, -1)]
    for a, (energy, forces) in zip((atoms[0], atoms[-1]), ends, strict=True):
        a.calc = SinglePointCalculator(a, energy=energy, forces=forces)
    rounds: list[float] = []
    converged = False
    for _ in range(max_rounds):
        measured = [_evaluate(a, exact) for a in atoms[1:-1]]
        for a, (energy, forces) in zip(atoms[1:-1], measured, strict=True):
            a.calc = SinglePointCalculator(a, energy=energy, forces=forces)
        energies = [ends[0][0], *(m[0] for m in measured), ends[1][0]]
        structures = [AseAtomsAdaptor.get_structure(a) for a in atoms]
        rounds.append(neb_max_force(NEB(atoms, climb=True, **NEB_KWARGS)))
        LOG.info("round %d: expensive CI-NEB force %.3f eV/Å", len(rounds), rounds[-1])
        if rounds[-1] <= min(rounds):
            best = (structures, energies)
        if rounds[-1] < fmax or (len(rounds) == 1 and rounds[0] > fallback_force):
            converged = rounds[-1] < fmax
            break
        if rounds[-1] > DIVERGING * min(rounds):  # the correction is leading away: stop spending
            LOG.info("rounds diverge: back to the best band (%.3f eV/Å)", min(rounds))
            break
        anchors = [a.positions.copy() for a in atoms]
        for a, (energy, forces) in zip(atoms[1:-1], measured, strict=True):
            e_cheap, f_cheap = _evaluate(a, base)
            a.calc = FirstOrderCorrection(base, a.positions, energy - e_cheap, forces - f_cheap)
        neb = NEB(atoms, climb=True, **NEB_KWARGS)
        FIRE(neb, logfile=None).run(fmax=0.5 * fmax, steps=inner_steps)
        for a, anchor in zip(atoms[1:-1], anchors[1:-1], strict=True):
            step = DAMPING * (a.positions - anchor)
            a.positions = anchor + step
            largest = float(np.sqrt((step**2).sum(axis=1).max()))
            if largest > trust:  # outside the region where the first-order correction holds
                a.positions = anchor + step * (trust / largest)
    return CorrectedBand(*best, converged, exact.ionflow_counter.calls, rounds)


def warm_started_band(
    images: list[Structure],
    cheap: str,
    expensive: str,
    fmax: float,
    steps: int,
    fallback_force: float = 1.0,
    dispersion: bool = False,
    max_rounds: int = 12,
) -> tuple[BandRun, BandRun]:
    """The cheap band, and the expensive CI-NEB converged from it on the corrected surface
    (:func:`corrected_band`) or, on fallback, a plain expensive CI-NEB from ``images``.

    The expensive run's ``force_calls`` include every expensive call, those of an abandoned
    corrected run too.
    """
    warm = climb_band(images, cheap, fmax, steps, dispersion)
    start = time.perf_counter()
    fast = corrected_band(
        warm.images, cheap, expensive, fmax, max_rounds, fallback_force=fallback_force, dispersion=dispersion
    )
    notes = [f"expensive max force per round (eV/Å): {', '.join(f'{f:.3f}' for f in fast.rounds)}"]
    if fast.converged:
        run = BandRun(
            fast.images, fast.energies, True, fast.force_calls, time.perf_counter() - start, "warm+Δ"
        )
        run.notes = notes
        return warm, run
    spent = fast.force_calls
    if fast.rounds[0] > fallback_force:
        notes.append(f"above the fallback limit {fallback_force} eV/Å")
    else:
        notes.append(f"corrected rounds stopped after {len(fast.rounds)}: CI-NEB on the expensive engine")
        run = climb_band(fast.images, expensive, fmax, steps, dispersion)
        run.start = "warm"
        spent += run.force_calls
        if run.converged:
            run.force_calls = spent
            run.wall_time_s = time.perf_counter() - start
            run.notes = notes
            return warm, run
        notes.append("that did not converge either")
    run = climb_band(images, expensive, fmax, steps, dispersion)
    run.start = "fallback: idpp"
    run.force_calls += spent
    run.wall_time_s = time.perf_counter() - start
    run.notes = notes
    return warm, run
