"""The measurement log that lets a killed warm-started band resume: kept calls are read back
in order, the image moved onto the configuration the killed run measured, even when the
replayed cheap steps differ in their last digits; a replay that leaves the killed run's path
measures from there on. EMT on fcc Cu stands in for the expensive engine (real calls, counted).
"""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk

from ionflow.workflows.measurements import REPLAY_TOLERANCE, MeasurementLog, RememberedCalculator
from ionflow.workflows.warm_start import counted_calculator, measure


def configurations(n: int, seed: int = 7) -> list:
    """``n`` rattled 8-atom fcc Cu cells, as the images a band's rounds measure."""
    rng = np.random.default_rng(seed)
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True) * (1, 1, 2)
    out = []
    for _ in range(n):
        a = atoms.copy()
        a.positions += rng.normal(scale=0.05, size=a.positions.shape)
        out.append(a)
    return out


def killed_run(folder, images) -> list[tuple[float, np.ndarray]]:
    """The calls a run made before it was killed: measured on EMT, each kept as it finished."""
    exact = RememberedCalculator(counted_calculator("EMT"), MeasurementLog(folder))
    cheap = counted_calculator("EMT")
    return [(m.energy, m.forces) for m in (measure(a, exact, cheap) for a in images)]


def test_a_replay_off_by_rounding_reads_the_calls_back_onto_their_configurations(tmp_path):
    images = configurations(3)
    kept = killed_run(tmp_path, images)
    assert len(list(tmp_path.glob("call-*.json"))) == 3
    rng = np.random.default_rng(1)
    replay = [a.copy() for a in images]
    for a in replay:  # the rerun's cheap steps land 1e-3 Å away (another rounding, another node)
        a.positions += rng.uniform(-1e-3, 1e-3, size=a.positions.shape)
    exact = RememberedCalculator(counted_calculator("EMT"), MeasurementLog(tmp_path))
    cheap = counted_calculator("EMT")
    for a, original, (energy, forces) in zip(replay, images, kept, strict=True):
        m = measure(a, exact, cheap)
        assert np.array_equal(a.positions, original.positions)  # moved onto the killed run's point
        assert m.energy == energy and np.array_equal(m.forces, forces)
        assert m.d_energy == pytest.approx(0.0, abs=1e-9)  # cheap = exact here, at the same point
    assert exact.reused == 3 and exact.inner.ionflow_counter.calls == 3
    assert len(list(tmp_path.glob("call-*.json"))) == 3  # nothing measured twice


def test_a_replay_that_leaves_the_path_measures_from_there_on(tmp_path):
    images = configurations(3)
    killed_run(tmp_path, images)
    off = images[1].copy()
    off.positions[0] += 2 * REPLAY_TOLERANCE  # the rerun's second call is elsewhere
    log = MeasurementLog(tmp_path)
    exact = RememberedCalculator(counted_calculator("EMT"), log)
    cheap = counted_calculator("EMT")
    measure(images[0].copy(), exact, cheap)
    m = measure(off, exact, cheap)
    assert np.array_equal(m.positions, off.positions)  # not moved: measured where it is
    third = images[2].copy()
    measure(third, exact, cheap)  # kept, but after the path was left: measured again
    assert exact.reused == 1 and exact.ionflow_counter.calls == 3
    assert len(list(tmp_path.glob("call-*.json"))) == 5  # the two new calls kept after the old ones
    assert MeasurementLog(tmp_path).entries[3]["positions"] == pytest.approx(off.positions)


def test_a_damaged_kept_call_is_made_again(tmp_path):
    images = configurations(2)
    killed_run(tmp_path, images)
    (tmp_path / "call-00001.json").write_text('{"numbers": [29')  # not ours / cut (atomic writes never are)
    exact = RememberedCalculator(counted_calculator("EMT"), MeasurementLog(tmp_path))
    cheap = counted_calculator("EMT")
    for a in images:
        measure(a.copy(), exact, cheap)
    assert exact.reused == 1 and exact.ionflow_counter.calls == 2
