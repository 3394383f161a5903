"""Machine-learned warm start for CI-NEB: fewer expensive force calls per barrier.

1. Measure the expensive engine at the two relaxed end points (two calls) and converge the
   whole CI-NEB on the cheap universal potential (CHGNet) corrected by those two Δs, from IDPP
   images: the warm band keeps the expensive engine's framework geometry.
2. Measure the expensive engine's energies and forces on that band (one call per image). If
   its CI-NEB force is below ``fmax``, done; if it is above ``fallback_force``, fall back.
3. Otherwise a trust-region step on a model of the expensive surface: the cheap surface plus
   a Δ-model per image, exact at its last accepted measurement, with a curvature learned from
   the measurements (SR1, stiffening only). The band follows a CI-NEB optimizer on that model
   until an atom reaches the trust radius; the next measurement accepts (radius grows) or
   rejects (radius shrinks) it on the band's RMS CI-NEB force (the largest one, non-smooth,
   can rise on a step that lowers all the others: judged on it the rounds stalled); back to 2.
4. The run stops on the expensive engine's own CI-NEB force below ``fmax``, the criterion of
   plain CI-NEB, so the barrier is the expensive engine's. When the rounds stall (a rejected
   step leaves the trust radius below ``MIN_TRUST``) or after ``max_rounds``, the expensive
   CI-NEB climbs from the best band measured; if that fails too, a plain CI-NEB from IDPP runs
   (every expensive call of the abandoned attempts is counted).
For VASP on a cluster the same rounds run in one batch job on VASP single points
(:mod:`ionflow.workflows.rounds`, :mod:`ionflow.workflows.vasp_calculator`), the end points'
energies and forces taken from VASP's own relaxations (no VASP call added); or, with
``corrected_rounds`` off, step 1 supplies VASP's images (``warm_start_images``) and VASP's
CI-NEB climbs from there.
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

from ionflow.workflows.checkpoint import NebCheckpoint
from ionflow.workflows.embedded import CountedNebMaker, largest_norm
from ionflow.workflows.measurements import MeasurementLog, RememberedCalculator

LOG = logging.getLogger(__name__)
NEB_KWARGS = {"method": "improvedtangent", "k": 5.0}
FALLBACK_FORCE = 5.0
"""eV/Å: a warm band whose expensive CI-NEB force is above this is abandoned for IDPP at once.
High on purpose: the trust region copes with bands far off (the Cu+ hop's CHGNet band, 1.6
eV/Å on SevenNet, converged in the rounds with a third of plain CI-NEB's calls)."""
MAX_ROUNDS = 15
"""Expensive measurements of the band before the corrected rounds give way to a plain climb."""
MIN_TRUST = 0.01
"""Å: a trust radius below this after a rejected step means the corrected surface no longer
points downhill on the expensive one (the rounds have stalled): they stop there."""


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
    resumed_at_step: int = 0
    """Optimizer steps done before an interruption (0: not resumed)."""
    force_calls_before_resume: int = 0
    """Force calls of those steps, included in ``force_calls``."""


def climb_band(
    images: list[Structure],
    force_field: str,
    fmax: float,
    steps: int,
    dispersion: bool = False,
    climb: bool = True,
    method: str = NEB_KWARGS["method"],
    checkpoint: NebCheckpoint | None = None,
    calculator_kwargs: dict | None = None,
) -> BandRun:
    """CI-NEB (ASE, through atomate2's forcefield NEB maker) from ``images``, end points fixed.

    With a ``checkpoint``, every step's band and the optimizer's state are kept there, and a
    band found there (the job was interrupted) is taken up where it stopped."""
    start = time.perf_counter()
    found = checkpoint.last_band(len(images)) if checkpoint else None
    done_steps = found[1] - 1 if found else 0
    maker = CountedNebMaker(
        force_field_name=force_field,
        dispersion=dispersion,
        calculator_kwargs=calculator_kwargs or {},
        steps=max(steps - done_steps, 1),
        relax_kwargs={"fmax": fmax},
        neb_kwargs={**NEB_KWARGS, "climb": climb, "method": method},
        optimizer_kwargs=checkpoint.optimizer_kwargs(resuming=found is not None) if checkpoint else {},
    )
    first = found[0] if found else images
    result = maker._run_ase_safe(images=[s.copy() for s in first])
    # each optimizer step evaluates every interior image once (the first band too)
    before = found[1] * (len(images) - 2) if found else 0
    if checkpoint is not None and str(result.state.value) == "successful":
        checkpoint.remove()
    return BandRun(
        images=list(result.images),
        energies=[float(e) for e in result.energies],
        converged=str(result.state.value) == "successful",
        force_calls=before + maker.force_calls,
        wall_time_s=time.perf_counter() - start,
        resumed_at_step=done_steps,
        force_calls_before_resume=before,
    )


def band_max_force(
    images: list[Structure], force_field: str, dispersion: bool = False, calculator_kwargs: dict | None = None
) -> tuple[float, int]:
    """Largest CI-NEB force (eV/Å) on the band's interior images, and the calls it took."""
    calculator = counted_calculator(force_field, dispersion, calculator_kwargs)
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    for a in atoms:
        a.calc = calculator
    return neb_max_force(
        NEB(atoms, climb=True, allow_shared_calculator=True, **NEB_KWARGS)
    ), calculator.ionflow_counter.calls


def counted_calculator(
    force_field: str, dispersion: bool = False, calculator_kwargs: dict | None = None
) -> Calculator:
    """An engine's ASE calculator (cheap or expensive), its force calls counted
    (``.ionflow_counter.calls``); ``calculator_kwargs``: GPAW's settings
    (:attr:`~ionflow.workflows.settings.NebSettings.calculator_kwargs`)."""
    maker = CountedNebMaker(
        force_field_name=force_field, dispersion=dispersion, calculator_kwargs=calculator_kwargs or {}
    )
    return maker._get_calculator()


def neb_max_force(neb: NEB) -> float:
    """Largest per-atom force (eV/Å) of ``neb``'s interior images: ASE's CI-NEB convergence measure."""
    return largest_norm(neb.get_forces())


class DeltaCorrection(Calculator):
    """The cheap surface plus a Δ-model anchored at one configuration X0 (s = X - X0):

    E(X) = E_cheap(X) + dE - dF . s + s . H s / 2,   F(X) = F_cheap(X) + dF - H s,

    with dE, dF the expensive-minus-cheap energy and forces at X0 (measured), and H the
    Hessian of the difference learned from earlier measurements (:class:`DeltaCurvature`;
    zero: a first-order correction). Energy and forces equal the expensive engine's at X0,
    and the correction is conservative.
    """

    implemented_properties = ("energy", "forces")

    def __init__(
        self,
        cheap: Calculator,
        anchor: np.ndarray,
        d_energy: float,
        d_forces: np.ndarray,
        curvature: np.ndarray | None = None,
    ):
        super().__init__()
        self.cheap, self.anchor = cheap, anchor.copy()
        self.d_energy, self.d_forces = d_energy, d_forces.copy()
        self.curvature = curvature

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        probe = self.atoms.copy()
        probe.calc = self.cheap
        shift = (self.atoms.positions - self.anchor).ravel()
        h_shift = np.zeros_like(shift) if self.curvature is None else self.curvature @ shift
        self.results = {
            "energy": probe.get_potential_energy()
            + self.d_energy
            - float(self.d_forces.ravel() @ shift)
            + 0.5 * float(shift @ h_shift),
            "forces": probe.get_forces() + self.d_forces - h_shift.reshape(-1, 3),
        }


@dataclass
class DeltaCurvature:
    """Hessian of (expensive - cheap) energy, learned from pairs of measurements (SR1 updates).

    Each pair: two configurations s apart whose force differences (expensive - cheap) differ
    by -y; the symmetric rank-one update makes H s = y. SR1, not BFGS: the Hessian of a
    difference of two surfaces has no sign. Pairs where the update is ill-conditioned are skipped.
    """

    size: int
    matrix: np.ndarray = field(init=False)
    pairs: int = 0

    def __post_init__(self) -> None:
        self.matrix = np.zeros((self.size, self.size))

    def stiffening(self) -> np.ndarray:
        """The learned Hessian without its negative eigenvalues: the correction then only
        stiffens the cheap surface, so the corrected surface stays bounded below wherever the
        cheap one is (a negative learned curvature along a stiff mode sends the relaxation off)."""
        values, vectors = np.linalg.eigh(self.matrix)
        return (vectors * np.clip(values, 0.0, None)) @ vectors.T

    def update(self, shift: np.ndarray, d_forces_before: np.ndarray, d_forces_after: np.ndarray) -> None:
        """Learn from the Δ-forces at X and at X + ``shift``."""
        s = shift.ravel()
        y = -(d_forces_after - d_forces_before).ravel()
        r = y - self.matrix @ s
        denominator = float(r @ s)
        if abs(denominator) > 1e-8 * np.linalg.norm(r) * np.linalg.norm(s) and np.linalg.norm(s) > 1e-6:
            self.matrix += np.outer(r, r) / denominator
            self.pairs += 1


@dataclass
class Measurement:
    """The expensive and cheap energy and forces at one band image's configuration."""

    positions: np.ndarray
    energy: float
    forces: np.ndarray
    d_energy: float
    d_forces: np.ndarray


def measure(atoms: Atoms, exact: Calculator, cheap: Calculator) -> Measurement:
    """One expensive call (and one cheap) at ``atoms``; a resumed band's image is first moved
    onto the configuration its killed run measured at this call (:mod:`~ionflow.workflows.measurements`)."""
    if isinstance(exact, RememberedCalculator):
        exact.recall(atoms)
    return measurement_at(atoms, *_evaluate(atoms, exact), cheap)


def measurement_at(atoms: Atoms, energy: float, forces: np.ndarray, cheap: Calculator) -> Measurement:
    """The expensive ``energy`` and ``forces`` already known at ``atoms`` (a VASP relaxation's
    last ionic step), with the cheap engine's there for the Δ: no expensive call."""
    e_cheap, f_cheap = _evaluate(atoms, cheap)
    forces = np.asarray(forces, dtype=float).reshape(-1, 3)
    return Measurement(
        atoms.positions.copy(), float(energy), forces, float(energy) - e_cheap, forces - f_cheap
    )


@dataclass
class CorrectedBand:
    """A CI-NEB converged against the expensive engine's forces, moved on the corrected surface."""

    images: list[Structure]
    """The band accepted last: the lowest RMS CI-NEB force measured (the converged one when converged)."""
    energies: list[float]
    converged: bool
    force_calls: int
    rounds: list[float]
    """Expensive max NEB force (eV/Å) of the band at each round (rejected steps included)."""
    stop: str = "converged"
    """Why the rounds stopped: converged, above the fallback force, stalled, or the round limit."""
    rms_forces: list[float] = field(default_factory=list)
    """Expensive RMS NEB force (eV/Å) of the band at each round: what accepts or rejects a step."""


def _evaluate(atoms: Atoms, calculator: Calculator) -> tuple[float, np.ndarray]:
    probe = atoms.copy()
    probe.calc = calculator
    return float(probe.get_potential_energy()), probe.get_forces()


def _expensive_neb_forces(atoms: list[Atoms], measured: list[Measurement]) -> np.ndarray:
    """The expensive engine's CI-NEB forces on the band's interior images (n x 3)."""
    for a, m in zip(atoms[1:-1], measured, strict=True):
        a.calc = SinglePointCalculator(a, energy=m.energy, forces=m.forces)
    return NEB(atoms, climb=True, **NEB_KWARGS).get_forces()


def _rms(rows: np.ndarray) -> float:
    """Root mean square of the per-atom vectors in ``rows`` (n x 3)."""
    return float(np.sqrt((rows**2).sum(axis=1).mean()))


def _largest_shift(a: np.ndarray, b: np.ndarray) -> float:
    return largest_norm(a - b)


class PartlyFrozenNEB(NEB):
    """A CI-NEB whose ``frozen`` interior images do not move (their NEB forces read zero);
    the others still feel them through the springs and tangents."""

    def __init__(self, images: list[Atoms], frozen: list[bool], **kwargs):
        super().__init__(images, **kwargs)
        self.frozen = list(frozen)

    def get_forces(self) -> np.ndarray:
        forces = super().get_forces().reshape(self.nimages - 2, self.natoms, 3)
        forces[np.asarray(self.frozen, dtype=bool)] = 0.0
        return forces.reshape(-1, 3)


def _corrected_step(
    atoms: list[Atoms],
    anchors: list[Measurement],
    base: Calculator,
    curvature: list[DeltaCurvature],
    fmax: float,
    trust: float,
    inner_steps: int,
    frozen: list[bool],
) -> None:
    """Relax the band as a CI-NEB on the corrected surface from the accepted band until an
    atom of some image is ``trust`` Å from its anchor (or the corrected band converges), then
    put it back onto that radius.

    The optimizer's path, not the chord to the corrected band's end: the model is exact at the
    anchor, so the path starts downhill on the expensive surface too, while the far end of a
    cheap surface plus a first-order correction can lie anywhere (seen on the 40-atom AP cell:
    chords shortened to 0.001 Å still raised the expensive force).
    """
    from ase.optimize import FIRE

    for a, m, learned in zip(atoms[1:-1], anchors, curvature, strict=True):
        a.positions = m.positions.copy()
        a.calc = DeltaCorrection(base, m.positions, m.d_energy, m.d_forces, learned.stiffening())
    optimizer = FIRE(PartlyFrozenNEB(atoms, frozen, climb=True, **NEB_KWARGS), logfile=None)
    for _ in optimizer.irun(fmax=0.5 * fmax, steps=inner_steps):
        if (
            max(_largest_shift(a.positions, m.positions) for a, m in zip(atoms[1:-1], anchors, strict=True))
            > trust
        ):
            break
    for a, m in zip(atoms[1:-1], anchors, strict=True):
        largest = _largest_shift(a.positions, m.positions)
        if largest > trust:
            a.positions = m.positions + (a.positions - m.positions) * (trust / largest)


def corrected_band(
    images: list[Structure],
    exact: Calculator,
    base: Calculator,
    ends: tuple[Measurement, Measurement],
    fmax: float,
    max_rounds: int = MAX_ROUNDS,
    trust: float = 0.1,
    fallback_force: float = FALLBACK_FORCE,
    inner_steps: int = 200,
    min_trust: float = MIN_TRUST,
    freeze: bool = True,
) -> CorrectedBand:
    """Converge a CI-NEB on the expensive engine (``exact``) from a warm band, spending
    expensive calls only on the band itself: a trust-region method whose model is the cheap
    surface (``base``) corrected by the expensive calls.

    Each round: the expensive engine's energies and forces on the interior images (one call
    each, plus a cheap one for the Δ); stop when their largest CI-NEB force is below ``fmax``
    (the plain CI-NEB criterion). A band whose RMS CI-NEB force is lower than the accepted
    one's is accepted and the trust radius grows (x1.5, at most 4 x ``trust``); otherwise it is rejected, the
    band goes back and the radius becomes half the step that failed. Every measurement also
    teaches the image's Δ-model its curvature (:class:`DeltaCurvature`, from the pair accepted
    image -> new image). The next band: the CI-NEB relaxed on the cheap surface corrected at
    the accepted images (:class:`DeltaCorrection`), each image's step scaled down to the trust radius.
    The end points are the measured ``ends``. Gives up (``converged`` False) when the first
    force exceeds ``fallback_force``, when a rejection leaves the radius below ``min_trust``
    (stalled), or after ``max_rounds``.
    """
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    for a, m in zip((atoms[0], atoms[-1]), ends, strict=True):
        a.calc = SinglePointCalculator(a, energy=m.energy, forces=m.forces)
    curvature = [DeltaCurvature(3 * len(atoms[0])) for _ in atoms[1:-1]]
    radius, rounds, rms_forces, stop = trust, [], [], f"round limit ({max_rounds})"
    accepted: list[Measurement] = []
    frozen = [False] * (len(atoms) - 2)
    for _ in range(max_rounds):
        measured = [
            old if still else measure(a, exact, base)
            for a, old, still in zip(atoms[1:-1], accepted or [None] * len(frozen), frozen, strict=True)
        ]
        forces = _expensive_neb_forces(atoms, measured)
        rounds.append(largest_norm(forces))
        rms_forces.append(_rms(forces))
        for old, new, learned in zip(accepted, measured, curvature, strict=False):
            learned.update(new.positions - old.positions, old.d_forces, new.d_forces)
        if not accepted or rms_forces[-1] < min(rms_forces[:-1]) or rounds[-1] < fmax:
            if accepted:
                radius = min(1.5 * radius, 4 * trust)
            accepted, verdict = measured, "accepted"
            if freeze:
                frozen = [largest_norm(rows) < fmax for rows in np.split(forces, len(measured))]
        else:  # half the step that failed, which may have been shorter than the radius
            radius = 0.5 * max(
                _largest_shift(m.positions, n.positions) for m, n in zip(accepted, measured, strict=True)
            )
            verdict = "rejected"
        LOG.info(
            "round %d: expensive CI-NEB force %.3f eV/Å (RMS %.3f), %s; trust %.3f Å; %d images frozen",
            len(rounds),
            rounds[-1],
            rms_forces[-1],
            verdict,
            radius,
            sum(frozen),
        )
        if rounds[-1] < fmax:
            stop = "converged"
        elif rounds[0] > fallback_force:
            stop = f"above the fallback limit {fallback_force} eV/Å"
        elif verdict == "rejected" and radius < min_trust:
            stop = f"stalled (trust radius {radius:.3f} Å)"
        else:
            _corrected_step(atoms, accepted, base, curvature, fmax, radius, inner_steps, frozen)
            continue
        break
    for a, m in zip(atoms[1:-1], accepted, strict=True):
        a.positions = m.positions
    energies = [ends[0].energy, *(m.energy for m in accepted), ends[1].energy]
    structures = [AseAtomsAdaptor.get_structure(a) for a in atoms]
    return CorrectedBand(
        structures, energies, rounds[-1] < fmax, exact.ionflow_counter.calls, rounds, stop, rms_forces
    )


def end_corrected_band(
    images: list[Structure], base: Calculator, ends: tuple[Measurement, Measurement], fmax: float, steps: int
) -> BandRun:
    """CI-NEB on the cheap surface corrected by the expensive engine at the two end points
    (their Δ energy and forces, mixed linearly along the band): the warm band then keeps the
    expensive engine's framework geometry (bond lengths the two engines disagree on), for no
    expensive call beyond the end points'."""
    from ase.optimize import FIRE

    start, calls = time.perf_counter(), base.ionflow_counter.calls
    atoms = [AseAtomsAdaptor.get_atoms(s) for s in images]
    for k, a in enumerate(atoms):
        t = k / (len(atoms) - 1)
        d_energy = (1 - t) * ends[0].d_energy + t * ends[1].d_energy
        d_forces = (1 - t) * ends[0].d_forces + t * ends[1].d_forces
        a.calc = DeltaCorrection(base, a.positions, d_energy, d_forces)
    optimizer = FIRE(NEB(atoms, climb=True, **NEB_KWARGS), logfile=None)
    converged = bool(optimizer.run(fmax=fmax, steps=steps))
    return BandRun(
        images=[AseAtomsAdaptor.get_structure(a) for a in atoms],
        energies=[float(a.get_potential_energy()) for a in atoms],
        converged=converged,
        force_calls=base.ionflow_counter.calls - calls,
        wall_time_s=time.perf_counter() - start,
        start="idpp, cheap surface corrected at the end points",
    )


def warm_started_band(
    images: list[Structure],
    cheap: str,
    expensive: str,
    fmax: float,
    steps: int,
    fallback_force: float = FALLBACK_FORCE,
    dispersion: bool = False,
    max_rounds: int = MAX_ROUNDS,
    expensive_kwargs: dict | None = None,
    known_ends: tuple[tuple[float, np.ndarray], tuple[float, np.ndarray]] | None = None,
    checkpoint: NebCheckpoint | None = None,
) -> tuple[BandRun, BandRun]:
    """The cheap band, and the expensive CI-NEB converged from it on the corrected surface
    (:func:`corrected_band`) or, on fallback, a plain expensive CI-NEB from ``images``
    (``expensive_kwargs``: the expensive calculator's settings, GPAW's or VASP's).

    ``known_ends``: the expensive engine's energy and forces at the two end points, already
    known (the last ionic step of VASP's relaxations): not measured again. ``checkpoint``:
    the band's checkpoint (:class:`~ionflow.workflows.checkpoint.NebCheckpoint`; None: not
    kept): the expensive calls of the corrected rounds are kept in it as they finish, so that
    a rerun of a killed band reads back the calls it had made
    (:mod:`ionflow.workflows.measurements`); removed once the band has converged.

    The expensive run's ``force_calls`` include every expensive call, those of an abandoned
    corrected run too, and those read back (also in ``force_calls_before_resume``).
    """
    exact = counted_calculator(expensive, dispersion, expensive_kwargs)
    if checkpoint is not None:
        exact = RememberedCalculator(exact, MeasurementLog(checkpoint.folder))
    base = counted_calculator(cheap, dispersion)
    start = time.perf_counter()
    end_atoms = [AseAtomsAdaptor.get_atoms(images[i]) for i in (0, -1)]
    if known_ends is None:
        ends = tuple(measure(a, exact, base) for a in end_atoms)
    else:
        ends = tuple(measurement_at(a, e, f, base) for a, (e, f) in zip(end_atoms, known_ends, strict=True))
    warm = end_corrected_band(images, base, ends, fmax, steps)

    def finished(run: BandRun) -> tuple[BandRun, BandRun]:  # a converged band forgets its checkpoint
        if checkpoint is not None and run.converged:
            checkpoint.remove()
        return warm, run

    fast = corrected_band(warm.images, exact, base, ends, fmax, max_rounds, fallback_force=fallback_force)
    notes = [f"expensive max force per round (eV/Å): {', '.join(f'{f:.3f}' for f in fast.rounds)}"]
    if fast.converged:
        run = BandRun(
            fast.images, fast.energies, True, fast.force_calls, time.perf_counter() - start, "warm+Δ"
        )
        run.force_calls_before_resume = getattr(exact, "reused", 0)
        run.notes = notes
        return finished(run)
    spent = fast.force_calls
    notes.append(f"corrected rounds stopped after {len(fast.rounds)}: {fast.stop}")
    if not fast.stop.startswith("above"):
        notes.append("CI-NEB on the expensive engine from the best band measured")
        run = climb_band(fast.images, expensive, fmax, steps, dispersion, calculator_kwargs=expensive_kwargs)
        run.start = "warm"
        spent += run.force_calls
        if run.converged:
            run.force_calls = spent
            run.wall_time_s = time.perf_counter() - start
            run.notes = notes
            return finished(run)
        notes.append("that did not converge either")
    run = climb_band(images, expensive, fmax, steps, dispersion, calculator_kwargs=expensive_kwargs)
    run.start = "fallback: idpp"
    run.force_calls += spent
    run.wall_time_s = time.perf_counter() - start
    run.notes = notes
    return finished(run)
