"""The one end-point relaxer: a hop's two end points relaxed at fixed cell, plainly on the NEB's
engine, or warm-started (``settings.warm_end_points`` with a ``warm_start`` potential) on the
cheap potential and finished on the engine through Δ-corrected rounds, to the same criterion.

The migration-barrier flow, its re-cut, the warm start's tests and the warm-start benchmark
all relax end points here.

Warm-started: both end points are first relaxed on the cheap potential (CHGNet; no expensive
call). Then each round measures the expensive engine once at the current geometry and relaxes
on the cheap surface corrected there (:class:`~ionflow.workflows.warm_start.DeltaCorrection`:
exact energy and forces at the measured point, a curvature learned from the rounds' pairs,
stiffening only), the step capped by a trust radius; the next measurement accepts the step
when it lowered the energy or the largest force (the radius grows) or rejects it (the radius
shrinks). It stops on the expensive engine's own largest force below ``end_point_fmax``, the
plain relaxation's criterion; after ``MAX_ROUNDS`` or a collapsed radius, a plain relaxation
on the expensive engine finishes from the best point measured. Every expensive call counts.

Either way, the moving ion's drift from its cut site is measured in each relaxed end point
(the cell's rigid shift taken out). One that drifted past ``end_point_site_drift`` may have
been carried over a shallow ridge into a minimum beside its site: it is searched again from the
cut with the ion pinned at its site while the rest relaxes, then released
(:func:`site_search`), and the lower of the two minima is kept when its ion stayed on its own
site rather than sliding onto the hop's other one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

from ase import Atoms
from ase.optimize import LBFGS
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.hops import check_end_points, site_drift
from ionflow.workflows.embedded import CountedRelaxMaker, largest_norm
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import (
    DeltaCorrection,
    DeltaCurvature,
    Measurement,
    counted_calculator,
    measure,
)

logger = logging.getLogger(__name__)

MAX_ROUNDS = 30
"""Expensive calls per end point in the corrected rounds before a plain relaxation finishes."""
TRUST = 0.1
"""Å: largest atom shift of the first corrected step."""
MIN_TRUST = 0.005
"""Å: a rejected step that leaves the radius below this stops the rounds."""
CHEAP_STEPS = 100
"""Optimizer steps on the corrected surface per round (the step is capped by the trust radius)."""
CHEAP_FMAX = 0.02
"""eV/Å: the cheap potential's own relaxation of the end points, before the corrected rounds."""
ENERGY_NOISE = 1e-5
"""eV: an energy rise this small does not reject a step that lowered the largest force."""


@dataclass
class RelaxedEndPoints:
    """A hop's two end points relaxed on one engine."""

    initial: Structure
    final: Structure
    energies: list[float]
    converged: bool
    force_calls: int
    """Calls of the NEB's engine (the expensive one when warm-started)."""
    wall_time_s: float
    cut: list[Structure]
    """The hop's end points as cut, where its sites are (a re-cut end point keeps its hop's)."""
    site_drift: list[float]
    """Å: how far the moving ion left its cut site in each relaxed end point (rigid shift
    taken out; :func:`~ionflow.inputs.hops.site_drift`)."""

    def as_output(self) -> dict:
        """The job output of :func:`ionflow.workflows.migration.relax_end_points`: the fields."""
        return dict(vars(self))


def _plain(structures: list[Structure], settings: NebSettings) -> tuple[list, int]:
    """atomate2's relaxation of each structure on ``settings.model``; results and calls."""
    maker = CountedRelaxMaker(
        force_field_name=settings.model,
        dispersion=settings.dispersion,
        calculator_kwargs=settings.calculator_kwargs,
        relax_cell=False,
        steps=settings.end_point_steps,
        # atomate2's relaxer otherwise appends to final_atoms_object.xyz in the working directory
        relax_kwargs={"fmax": settings.end_point_fmax, "final_atoms_object_file": None},
        optimizer_kwargs={"optimizer": settings.end_point_optimizer},
    )
    return [maker._run_ase_safe(s.copy()) for s in structures], maker.force_calls


def corrected_relaxation(
    atoms: Atoms, exact, cheap, fmax: float, steps: int, max_rounds: int = MAX_ROUNDS
) -> tuple[Measurement, bool, int]:
    """Relax ``atoms`` (fixed cell) against ``exact``'s forces, stepping on ``cheap``'s surface
    corrected at each measurement; returns the best measurement, whether its largest force is
    below ``fmax``, and the rounds (expensive calls) taken."""
    best = measure(atoms, exact, cheap)
    curvature = DeltaCurvature(best.forces.size)
    trust, rounds = TRUST, 1
    while largest_norm(best.forces) >= fmax and rounds < max_rounds and trust >= MIN_TRUST:
        trial = atoms.copy()
        trial.positions = best.positions
        trial.calc = DeltaCorrection(
            cheap, best.positions, best.d_energy, best.d_forces, curvature.stiffening()
        )
        LBFGS(trial, logfile=None).run(fmax=fmax / 2, steps=min(steps, CHEAP_STEPS))
        shift = trial.positions - best.positions
        longest = largest_norm(shift)
        if longest > trust:
            trial.positions = best.positions + shift * (trust / longest)
        new = measure(trial, exact, cheap)
        rounds += 1
        curvature.update(new.positions - best.positions, best.d_forces, new.d_forces)
        lower = new.energy < best.energy - ENERGY_NOISE or (
            new.energy < best.energy + ENERGY_NOISE and largest_norm(new.forces) < largest_norm(best.forces)
        )
        logger.info(
            "end-point round %d: largest force %.4f eV/Å, %s; trust %.3f Å",
            rounds,
            largest_norm(new.forces),
            "accepted" if lower else "rejected",
            trust,
        )
        if lower:
            best, trust = new, min(trust * 1.5, 4 * TRUST)
        else:
            trust *= 0.5
    return best, largest_norm(best.forces) < fmax, rounds


def warm_started(settings: NebSettings) -> bool:
    """Whether end points are warm-started on a cheaper potential (else relaxed plainly)."""
    return bool(settings.warm_end_points and settings.warm_start) and settings.warm_start != settings.model


def relaxed_like_an_end_point(structure: Structure, settings: NebSettings) -> Structure:
    """``structure`` relaxed the way a plain end point is (engine, criterion, optimizer), its
    site properties kept. A host relaxed so is the initial state of each vacancy hop cut into it
    (the ion still on its site), which its end-point relaxation then finds converged: a host of
    several hops relaxes that state once, not once per hop. Warm-started end points relax on
    another surface first, so a host is left as given for them."""
    if warm_started(settings):
        return structure
    (relaxed,), _ = _plain([structure], settings)
    out = relaxed.final_mol_or_struct
    out = Structure(out.lattice, out.species, out.frac_coords)
    for key, values in structure.site_properties.items():
        out.add_site_property(key, values)
    return out


def relaxed_end_points(
    initial: Structure, final: Structure, settings: NebSettings, cut: list[Structure] | None = None
) -> RelaxedEndPoints:
    """Both end points of a hop relaxed at fixed cell on ``settings.model`` (DFT-D3 with
    ``dispersion``) to ``end_point_fmax``; atom order kept. Plainly with
    ``end_point_optimizer``, or warm-started when ``warm_end_points`` is on and
    ``warm_start`` names a cheaper potential (the module's docstring). ``cut``: the hop's end
    points as cut, from which the moving ion's site drift is measured (default: the two given)."""
    start = time.perf_counter()
    cut = cut or [initial, final]
    if not warm_started(settings):
        relaxed, calls = _plain([initial, final], settings)
        return _relaxed(
            [r.final_mol_or_struct for r in relaxed],
            [float(r.trajectory.frame_properties[-1]["energy"]) for r in relaxed],
            all(bool(r.is_force_converged) for r in relaxed),
            calls,
            start,
            cut,
            settings,
        )
    cheap_settings = settings.model_copy(
        update={"model": settings.warm_start, "dft": None, "warm_start": None}
    )
    # the cheap surface's minimum is only a start: a loose criterion (its float32 forces are
    # noisy near 0.005 eV/Å, where a tight one spends thousands of steps)
    warm, _ = _plain([initial, final], cheap_settings.model_copy(update={"end_point_fmax": CHEAP_FMAX}))
    exact = counted_calculator(settings.model, settings.dispersion, settings.calculator_kwargs)
    cheap = counted_calculator(settings.warm_start, settings.dispersion)
    ends, energies, converged, calls = [], [], True, 0
    for relaxed in warm:
        atoms = AseAtomsAdaptor.get_atoms(relaxed.final_mol_or_struct)
        best, done, _ = corrected_relaxation(
            atoms, exact, cheap, settings.end_point_fmax, settings.end_point_steps
        )
        atoms.positions = best.positions
        end = AseAtomsAdaptor.get_structure(atoms)
        energy = best.energy
        if not done:  # the rounds stalled: the plain relaxation finishes from the best point
            logger.info("end-point rounds stopped above %.4f eV/Å: plain relaxation", settings.end_point_fmax)
            (finished,), more = _plain([end], settings)
            end, calls = finished.final_mol_or_struct, calls + more
            energy = float(finished.trajectory.frame_properties[-1]["energy"])
            done = bool(finished.is_force_converged)
        ends.append(end)
        energies.append(energy)
        converged = converged and done
    return _relaxed(ends, energies, converged, calls + exact.ionflow_counter.calls, start, cut, settings)


def _relaxed(
    ends: list[Structure],
    energies: list[float],
    converged: bool,
    calls: int,
    start: float,
    cut: list[Structure],
    settings: NebSettings,
) -> RelaxedEndPoints:
    """The result, each end point that drifted from its site searched again (:func:`site_search`)."""
    moving = check_end_points(*cut)
    ends, energies = list(ends), list(energies)
    drift = [site_drift(c, e, moving) for c, e in zip(cut, ends, strict=True)]
    for k in (0, 1):
        if drift[k] > settings.end_point_site_drift:
            found = site_search(cut[k], cut[1 - k], moving, settings)
            calls += found.force_calls
            if found.on_site and found.energy < energies[k]:
                logger.info(
                    "end point %d: the pinned search found a minimum %.3f eV lower on the ion's site",
                    k,
                    energies[k] - found.energy,
                )
                ends[k], energies[k] = found.structure, found.energy
                drift[k] = site_drift(cut[k], found.structure, moving)
                converged = converged and found.converged
    return RelaxedEndPoints(
        initial=ends[0],
        final=ends[1],
        energies=energies,
        converged=converged,
        force_calls=calls,
        wall_time_s=time.perf_counter() - start,
        cut=cut,
        site_drift=drift,
    )


@dataclass
class SiteSearch:
    """One end point relaxed with its moving ion first pinned at its site, then released."""

    structure: Structure
    energy: float
    converged: bool
    on_site: bool
    """The ion ended nearer its own site than the hop's other site (it did not slide back)."""
    force_calls: int


def site_search(cut: Structure, other: Structure, moving: int, settings: NebSettings) -> SiteSearch:
    """``cut`` relaxed on the NEB's engine with atom ``moving`` held at its site (the rest of
    the cell, hydroxide orientations included, settles around it), then with the ion free: the
    minimum of the site's own basin, where a relaxation from the cut can carry the ion over
    a shallow ridge into a higher minimum beside it (measured on the main job's slab-centre hop:
    1.3 Å from its site, 0.23 eV higher; docs/main-job.md). ``other``: the hop's other end
    point as cut, the guard against a slide back onto its site."""
    # atoms the cut holds fixed (selective dynamics) stay fixed in both stages
    kept = cut.site_properties.get("selective_dynamics") or [[True] * 3] * len(cut)
    held_flags = [[False] * 3 if i == moving else list(flags) for i, flags in enumerate(kept)]
    pinned = cut.copy(site_properties={"selective_dynamics": held_flags})
    # the held stage only settles the surroundings: to the band's criterion (the release
    # relaxes to the end points' own)
    loose = settings.model_copy(update={"end_point_fmax": max(settings.fmax, settings.end_point_fmax)})
    (held,), calls = _plain([pinned], loose)
    released = held.final_mol_or_struct.copy(site_properties={"selective_dynamics": kept})
    (free,), more = _plain([released], settings)
    end = free.final_mol_or_struct
    if "selective_dynamics" in end.site_properties and "selective_dynamics" not in cut.site_properties:
        end.remove_site_property("selective_dynamics")
    return SiteSearch(
        structure=end,
        energy=float(free.trajectory.frame_properties[-1]["energy"]),
        converged=bool(free.is_force_converged),
        on_site=site_drift(cut, end, moving) < site_drift(other, end, moving),
        force_calls=calls + more,
    )
