"""Machine-learned warm start of CI-NEB with a corrected cheap surface: the barrier is the
expensive engine's.

Expensive engine: SevenNet-0 (weights in its wheel), standing in for DFT; cheap: CHGNet.
Host: cubic Li3OCl 2x2x2 with one Li vacancy; its nearest-neighbour vacancy hop is
symmetric, so the converged barrier must be the same both ways.
"""

from __future__ import annotations

import pytest
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.hops import find_hops, interpolate_idpp
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import (
    DeltaCorrection,
    DeltaCurvature,
    band_max_force,
    climb_band,
    counted_calculator,
    warm_started_band,
)

pytest.importorskip("sevenn")
FMAX = 0.05


@pytest.fixture(scope="module")
def bands():
    host = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
    )
    hop = find_hops(host, "Li", host_name="Li3OCl", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]
    ends = relaxed_end_points(hop.initial, hop.final, NebSettings(model="SevenNet", end_point_fmax=FMAX))
    images = interpolate_idpp(ends.initial, ends.final, 3)
    plain = climb_band(images, "SevenNet", FMAX, 300)
    warm, fast = warm_started_band(images, "CHGNet", "SevenNet", FMAX, 300)
    return images, plain, warm, fast


def barrier(energies):
    return max(energies) - energies[0], max(energies) - energies[-1]


def test_warm_started_barrier_matches_plain_ci_neb(bands):
    _, plain, warm, fast = bands
    assert plain.converged and warm.converged and fast.converged
    assert fast.start == "warm+Δ"  # converged on the corrected surface, no plain CI-NEB needed
    forward, reverse = barrier(fast.energies)
    assert forward > 0.05
    assert forward == pytest.approx(reverse, abs=0.02)  # symmetric hop
    assert forward == pytest.approx(barrier(plain.energies)[0], abs=0.03)
    assert max(range(5), key=fast.energies.__getitem__) == 2  # saddle in the middle


def test_expensive_calls_are_counted_and_fewer(bands):
    _, plain, warm, fast = bands
    assert warm.force_calls > 0 and fast.force_calls > 0
    assert fast.force_calls < plain.force_calls


def test_the_accepted_band_meets_plain_ci_nebs_criterion_on_the_expensive_engine(bands):
    _, _, _, fast = bands
    force, calls = band_max_force(fast.images, "SevenNet")  # measured afresh, not taken from the run
    assert calls >= 3 and force < FMAX
    assert "per round" in fast.notes[0]


@pytest.mark.parametrize("curved", [False, True])
def test_delta_correction_is_exact_at_its_anchor_and_conservative(bands, curved):
    import numpy as np

    images = bands[0]
    atoms = AseAtomsAdaptor.get_atoms(images[2])
    cheap, exact = counted_calculator("CHGNet"), counted_calculator("SevenNet")
    probe = atoms.copy()
    probe.calc = exact
    e_exact, f_exact = probe.get_potential_energy(), probe.get_forces()
    probe.calc = cheap
    e_cheap, f_cheap = probe.get_potential_energy(), probe.get_forces()
    corrected = atoms.copy()
    size = 3 * len(atoms)
    rng = np.random.default_rng(0)
    curvature = None
    if curved:  # a symmetric, indefinite Δ-Hessian (eV/Å^2)
        half = rng.normal(scale=0.5, size=(size, size))
        curvature = half + half.T
    corrected.calc = DeltaCorrection(cheap, atoms.positions, e_exact - e_cheap, f_exact - f_cheap, curvature)
    assert corrected.get_potential_energy() == pytest.approx(e_exact, abs=1e-5)
    assert corrected.get_forces() == pytest.approx(f_exact, abs=1e-5)
    # away from the anchor: the force is minus the energy's gradient (central difference)
    moved = corrected.copy()
    moved.calc = corrected.calc
    moved.positions[0] += [0.05, 0.02, -0.03]
    force = moved.get_forces()[0, 0]
    step = 1e-3
    energies = []
    for sign in (1, -1):
        moved.positions[0, 0] += sign * step
        energies.append(moved.get_potential_energy())
        moved.positions[0, 0] -= sign * step
    assert force == pytest.approx(-(energies[0] - energies[1]) / (2 * step), abs=0.02)
    assert np.ptp([e_exact, e_cheap]) > 0  # the two surfaces differ: the correction matters


def cu_vacancy_hop():
    """The nearest-neighbour vacancy hop in fcc Cu, in a 32-site cell (31 atoms)."""
    host = Structure(
        Lattice.cubic(3.61), ["Cu"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    )
    return find_hops(host, "Cu", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]


def cu_vacancy_band() -> list[Structure]:
    """IDPP images of the vacancy hop in fcc Cu (31 atoms), end points relaxed on ASE's EMT."""
    from ase.calculators.emt import EMT
    from ase.optimize import FIRE

    hop = cu_vacancy_hop()
    ends = []
    for end in (hop.initial, hop.final):
        atoms = AseAtomsAdaptor.get_atoms(end)
        atoms.calc = EMT()
        FIRE(atoms, logfile=None).run(fmax=0.01)
        ends.append(AseAtomsAdaptor.get_structure(atoms))
    return interpolate_idpp(ends[0], ends[1], 3)


def test_band_far_off_falls_back_to_plain_ci_neb():
    """A fallback limit of zero sends a band not yet converged back to plain CI-NEB from IDPP on
    the expensive engine (EMT here, on the Cu vacancy hop, with CHGNet's band as the warm
    start): its barrier is the plain run's, and the table's note says why."""
    images = cu_vacancy_band()
    plain = climb_band(images, "EMT", FMAX, 300)
    _, run = warm_started_band(images, "CHGNet", "EMT", FMAX, 300, fallback_force=0.0)
    assert run.start == "fallback: idpp" and run.converged
    assert "above the fallback limit" in run.notes[-1]
    assert run.force_calls > plain.force_calls  # the abandoned round's calls are counted too
    assert barrier(run.energies)[0] == pytest.approx(barrier(plain.energies)[0], abs=0.01)
    assert barrier(run.energies)[0] == pytest.approx(barrier(run.energies)[1], abs=0.02)  # symmetric hop


def test_delta_curvature_learns_the_secant_of_a_quadratic_difference():
    import numpy as np

    rng = np.random.default_rng(1)
    size = 12
    half = rng.normal(size=(size, size))
    true = half + half.T  # Hessian of (expensive - cheap): symmetric, no sign
    learned = DeltaCurvature(size)

    def d_forces(x):  # minus the gradient of a quadratic difference
        return -(true @ x)

    x = rng.normal(size=size)
    for _ in range(size):  # steps along independent directions
        step = rng.normal(size=size)
        learned.update(step.reshape(-1, 3), d_forces(x).reshape(-1, 3), d_forces(x + step).reshape(-1, 3))
        assert learned.matrix @ step == pytest.approx(true @ step)  # the secant condition
        x = x + step
    assert learned.matrix == pytest.approx(learned.matrix.T)
    assert learned.pairs == size
    assert learned.matrix == pytest.approx(true, abs=1e-6)  # SR1 is exact on a quadratic
    learned.update(np.zeros((size // 3, 3)), d_forces(x).reshape(-1, 3), d_forces(x).reshape(-1, 3))
    assert learned.pairs == size  # a zero step teaches nothing and is skipped


def test_corrected_rounds_stop_when_the_trust_radius_collapses():
    """A Cu vacancy hop in fcc Cu: EMT as the expensive engine, a Lennard-Jones pair potential
    twenty times too soft (a poor model of it) as the cheap one, a force target out of reach.
    With the stall radius above any step, the rounds must stop at the first rejected step,
    keeping the best band measured, and every expensive call is counted."""
    import itertools

    import numpy as np
    from ase.calculators.emt import EMT
    from ase.calculators.lj import LennardJones

    from ionflow.workflows.embedded import count_force_calls
    from ionflow.workflows.warm_start import corrected_band, measure

    images = cu_vacancy_band()
    exact = count_force_calls(EMT())
    cheap = count_force_calls(LennardJones(sigma=2.338, epsilon=0.02, rc=6.0, smooth=True))
    measured = tuple(measure(AseAtomsAdaptor.get_atoms(images[i]), exact, cheap) for i in (0, -1))
    run = corrected_band(images, exact, cheap, measured, fmax=1e-4, fallback_force=10.0, min_trust=1.0)
    assert run.stop.startswith("stalled") and not run.converged
    assert len(run.rms_forces) == len(run.rounds)
    # steps are judged on the band's RMS CI-NEB force: the accepted ones lower it each time,
    # and the round that stopped the rounds was a rejected step
    best = list(itertools.accumulate(run.rms_forces, min))
    accepted = [f for k, f in enumerate(run.rms_forces) if k == 0 or f < best[k - 1]]
    assert len(accepted) >= 1 and all(b < a for a, b in itertools.pairwise(accepted))
    assert run.rms_forces[-1] >= min(run.rms_forces[:-1])
    assert run.force_calls == 2 + 3 * len(run.rounds)  # end points, then 3 images per round
    kept = [AseAtomsAdaptor.get_atoms(s) for s in run.images]
    for a in kept:
        a.calc = EMT()
    from ase.mep import NEB

    # the band returned is the best one measured (lowest RMS force), not the rejected one
    forces = NEB(kept, climb=True, method="improvedtangent", k=5.0).get_forces()
    assert np.sqrt((forces**2).sum(axis=1).mean()) == pytest.approx(min(run.rms_forces), abs=1e-6)
    assert np.isfinite(run.energies).all()


@pytest.mark.slow  # CHGNet and EMT relaxations of 31 atoms, twice; the feature is off by default
def test_warm_started_end_points_reach_the_expensive_engines_own_minimum():
    """The Cu vacancy hop's end points in fcc Cu, EMT as the expensive engine, CHGNet as the
    cheap one: relaxed on CHGNet first, then finished on EMT through corrected rounds. Each end
    point must meet the plain relaxation's criterion on EMT's own forces (measured afresh) and
    its energy, and cost fewer EMT calls than the plain relaxation."""
    import numpy as np
    from ase.calculators.emt import EMT

    from ionflow.workflows.end_points import relaxed_end_points

    hop = cu_vacancy_hop()
    # rattled, so that the end points are not already minima by symmetry
    ends = []
    for end in (hop.initial, hop.final):
        atoms = AseAtomsAdaptor.get_atoms(end)
        atoms.rattle(0.05, seed=3)
        ends.append(AseAtomsAdaptor.get_structure(atoms))
    plain = relaxed_end_points(*ends, NebSettings(model="EMT"))
    warm = relaxed_end_points(*ends, NebSettings(model="EMT", warm_start="CHGNet", warm_end_points=True))
    assert plain.converged and warm.converged
    fmax = NebSettings().end_point_fmax
    for structure, energy, reference in zip(
        (warm.initial, warm.final), warm.energies, plain.energies, strict=True
    ):
        atoms = AseAtomsAdaptor.get_atoms(structure)
        atoms.calc = EMT()
        assert np.linalg.norm(atoms.get_forces(), axis=1).max() < fmax  # EMT's own criterion
        assert atoms.get_potential_energy() == pytest.approx(energy, abs=1e-6)  # the energy reported is EMT's
        assert energy == pytest.approx(reference, abs=0.001)  # the same minimum as the plain relaxation
    assert warm.force_calls < plain.force_calls


def test_counted_calls_report_progress_when_asked():
    """Hours of DFT show progress: every PROGRESS_EVERY calls one line with the count and the
    largest force, once the progress logger is turned on (silent otherwise). The test listens
    on the logger itself: another test's logging configuration may have disabled it or cut
    its propagation."""
    import logging

    from ase.build import bulk
    from ase.calculators.emt import EMT

    from ionflow.workflows.embedded import PROGRESS_EVERY, count_force_calls

    atoms = bulk("Cu", cubic=True)
    atoms.calc = count_force_calls(EMT())

    def kick(times: int) -> None:
        for _ in range(times):
            atoms.positions[0, 0] += 0.01
            atoms.get_forces()

    logger = logging.getLogger("ionflow.workflows.force_calls")
    records: list[logging.LogRecord] = []
    listener = logging.Handler()
    listener.emit = records.append
    saved = (logger.level, logger.disabled, logging.root.manager.disable)
    logging.disable(logging.NOTSET)
    logger.disabled = False
    logger.addHandler(listener)
    try:
        logger.setLevel(logging.WARNING)
        kick(PROGRESS_EVERY)
        assert not records
        logger.setLevel(logging.INFO)
        kick(2 * PROGRESS_EVERY)
    finally:
        logger.removeHandler(listener)
        logger.setLevel(saved[0])
        logger.disabled = saved[1]
        logging.disable(saved[2])
    lines = [r.getMessage() for r in records]
    assert len(lines) == 2 and lines[-1].startswith(f"EMT: {3 * PROGRESS_EVERY} force calls")
    assert float(lines[-1].split("largest force ")[1].split()[0]) > 0  # the displaced atom is pushed back
