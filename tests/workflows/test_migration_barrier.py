"""The migration-barrier flow on the embedded engine for a symmetric vacancy hop.

Default suite: fcc Cu (a = 3.61 Å), 2x2x2 conventional cell with one vacancy, on ASE's EMT
(a job computes for about a second). Its nearest-neighbour vacancy hop joins two
symmetry-equivalent end points, so the barrier must be the same both ways and the saddle must
sit at the middle image. The measured Cu vacancy migration energy is 0.70 eV (Ehrhart,
Landolt-Börnstein III/25); EMT, a model, is checked against a window around it.

Slow suite: the same flow on CHGNet for cubic anti-perovskite Li3OCl (a = 3.91 Å), 2x2x2
with one Li vacancy, whose end points take minutes to relax to 0.005 eV/Å. DFT puts that
barrier at about 0.3-0.4 eV (Emly et al., Chem. Mater. 25, 4663 (2013)); a universal
potential is checked only against a wide window around that.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.barriers import barrier_frame
from ionflow.analysis.store import results_store

N_IMAGES = 5


CASES = {
    # model, host, mobile species, lattice, species and positions, (lowest, highest) barrier (eV)
    "EMT": (
        "Cu",
        "Cu",
        3.61,
        ["Cu"] * 4,
        [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        (0.5, 1.0),
    ),
    "CHGNet": (
        "Li3OCl",
        "Li",
        3.91,
        ["O", "Cl", "Li", "Li", "Li"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]],
        (0.1, 0.6),
    ),
}


@pytest.fixture(scope="module", params=["EMT", pytest.param("CHGNet", marks=pytest.mark.slow)])
def neb_run(request, tmp_path_factory):
    model = request.param
    name, mobile, a, species, coords, window = CASES[model]
    tmp = tmp_path_factory.mktemp("neb")
    host = Structure(Lattice.cubic(a), species, coords)
    cif = tmp / f"{name}.cif"
    host.to(filename=str(cif))
    results = tmp / "results.json"
    cmd = [
        sys.executable,
        "-c",
        "from ionflow.hpc.cli import main; main()",
        "run",
        "barriers",
        str(cif),
    ]
    cmd += ["--species", mobile, "--images", str(N_IMAGES), "--results", str(results), "--model", model]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
    assert proc.returncode == 0, proc.stderr[-3000:]
    # the barrier (the run's record of its finished flow sits beside it: tests/workflows/test_run_resume.py)
    docs = [d for d in json.loads(results.read_text()) if d["doc_type"] == "MigrationBarrierDoc"]
    # every job wrote its files into its own folder under the work dir, none into the cwd
    assert not (tmp / "final_atoms_object.xyz").exists()
    assert len(list((tmp / "ionflow-runs").glob("job_*"))) == 2
    return proc, results, docs, model, mobile, a, window


def test_symmetric_hop_barrier(neb_run):
    _, _, docs, _, _, _, (lowest, highest) = neb_run
    assert len(docs) == 1
    doc = docs[0]
    assert doc["converged"]
    assert doc["forward_barrier"] > 0.05
    assert doc["forward_barrier"] == pytest.approx(doc["reverse_barrier"], abs=0.02)
    assert abs(doc["delta_e"]) < 0.02
    assert 0 < doc["saddle_image"] < N_IMAGES + 1
    assert doc["saddle_image"] == (N_IMAGES + 1) // 2
    assert lowest < doc["forward_barrier"] < highest
    # relaxed end points are still two sites apart (the ion did not relax onto the site between)
    assert doc["relaxed_hop_length"] == pytest.approx(doc["hop_length"], abs=0.5)
    # each end point's ion on its own site, mirror images of each other: the same small drift
    initial_drift, final_drift = doc["site_drift"]
    assert initial_drift < doc["settings"]["end_point_site_drift"]
    assert initial_drift == pytest.approx(final_drift, abs=0.01)


def test_job_records_engine_settings_force_calls_and_time(neb_run):
    _, _, docs, model, _, a, _ = neb_run
    doc = docs[0]
    assert doc["engine"] == f"embedded:{model}"
    assert doc["settings"]["fmax"] == pytest.approx(0.05) and doc["settings"]["n_images"] == N_IMAGES
    # every NEB step evaluates all moving images; plus both end-point relaxations
    assert doc["force_calls"] > 2 * N_IMAGES
    assert doc["wall_time_s"] > 0
    assert doc["hop_length"] == pytest.approx(a / 2**0.5, abs=1e-3)
    assert doc["provenance"]["job_uuid"] and doc["provenance"]["flow_uuid"]


def test_table_printed_and_readable(neb_run):
    proc, results, _, _, mobile, _, _ = neb_run
    assert "Ea fwd (eV)" in proc.stdout and f"{mobile}-hop0" in proc.stdout
    frame = barrier_frame(results_store(results), species=[mobile])
    assert list(frame["hop"]) == [f"{mobile}-hop0"]
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ionflow.hpc.cli import main; main()",
            "barriers",
            "--results",
            str(results),
            "--format",
            "csv",
        ],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0 and out.stdout.splitlines()[0].startswith("host,species,hop")


def test_end_points_that_relax_into_one_minimum_are_no_hop(tmp_path):
    """A 'hop' whose final end point is the initial one with the ion nudged 0.3 Å: both relax
    into the same minimum, so no NEB runs and the table says so instead of printing a barrier."""
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore

    from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc
    from ionflow.analysis.store import save_results
    from ionflow.inputs.hops import HopPath
    from ionflow.workflows.migration import MigrationBarrierMaker
    from ionflow.workflows.settings import NebSettings

    _, _, a, species, coords, _ = CASES["EMT"]
    host = Structure(Lattice.cubic(a), species, coords)
    host.make_supercell(2)
    host.remove_sites([0])  # a vacancy beside the atom that is nudged
    moving = 1
    final = host.copy()
    final.translate_sites([moving], [0.3, 0.0, 0.0], frac_coords=False)
    hop = HopPath("Cu-nudge", "Cu", 0.3, host, final, moving, host="Cu")
    flow = MigrationBarrierMaker(settings=NebSettings(n_images=3, model="EMT")).make(hop)
    responses = run_locally(flow, store=JobStore(MemoryStore()), root_dir=tmp_path, ensure_success=True)
    doc = MigrationBarrierDoc.model_validate(responses[flow.jobs[-1].uuid][1].output)
    assert doc.relaxed_hop_length < ONE_MINIMUM
    assert not doc.converged and len(doc.energies) == 2  # end points only: no band was made
    assert doc.force_calls > 2
    store = results_store(tmp_path / "r.json")
    save_results(store, [doc])
    row = barrier_frame(store).iloc[0]
    assert (
        row["note"].startswith("end points relax to one minimum") and row["Ea fwd (eV)"] != row["Ea fwd (eV)"]
    )
    cli = [sys.executable, "-c", "from ionflow.hpc.cli import main; main()"]
    shown = subprocess.run(
        [*cli, "barriers", "--results", str(tmp_path / "r.json")], capture_output=True, text=True
    )
    assert shown.returncode == 0 and "end points relax" in shown.stdout and "—" in shown.stdout


@pytest.mark.parametrize("warm_start", [None, pytest.param("CHGNet", marks=pytest.mark.slow)])  # ~2 min
def test_a_band_downhill_from_a_saddle_is_recut_and_reported_as_what_it_is(tmp_path, warm_start):
    """An end point stuck on a symmetric saddle (the Cu halfway into the vacancy: no force by
    symmetry, so its relaxation cannot leave it) gives a band that runs downhill. It is not
    stored as a barrier: the end point is re-relaxed from the band's next image and the band
    run again. That image relaxes into one of the two sites beside the saddle: into the vacancy
    the other end fills (one minimum: no hop), or back onto the Cu's own site, and then the
    band is the real vacancy hop: symmetric, its saddle in the middle, 0.5-1.0 eV on EMT (Cu's
    measured vacancy migration energy is 0.70 eV). The same for a warm-started band (a CHGNet
    band finished on EMT): the re-cut does not depend on how the band was converged."""
    from jobflow import JobStore, run_locally
    from maggma.stores import MemoryStore

    from ionflow.analysis.barriers import DROP_TOLERANCE
    from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc
    from ionflow.inputs.hops import HopPath
    from ionflow.workflows.migration import MigrationBarrierMaker, not_a_minimum
    from ionflow.workflows.settings import NebSettings

    assert not_a_minimum([0.0, -0.1, -0.2, -0.3, -0.4]) == (0, 1)  # saddle at the initial end
    assert not_a_minimum([0.0, -0.12, 0.29, 0.11, 0.11]) == (0, 1)  # an image 0.12 eV below it
    assert not_a_minimum([0.0, 0.2, 0.5, 0.2, 0.0]) is None
    # the warm-started band of this very hop before the fix: its climbing image 0.1 meV above
    # the saddle end point, the band falling 0.76 eV from it: downhill within the energies' noise
    assert not_a_minimum([1.82997, 1.83008, 1.63817, 1.24040, 1.06898]) == (0, 1)
    assert not_a_minimum([0.0, 0.003, 0.006, 0.003, 0.0]) is None  # a tiny symmetric hop stays one

    _, _, a, species, coords, _ = CASES["EMT"]
    host = Structure(Lattice.cubic(a), species, coords)
    host.make_supercell(2)
    vacancy = host[0].coords
    host.remove_sites([0])
    moving = next(
        i for i, site in enumerate(host) if abs(site.distance_from_point(vacancy) - a / 2**0.5) < 0.01
    )
    final = host.copy()
    final.replace(moving, "Cu", vacancy, coords_are_cartesian=True)
    saddle = host.copy()
    saddle.replace(moving, "Cu", (host[moving].coords + vacancy) / 2, coords_are_cartesian=True)
    hop = HopPath("Cu-saddle", "Cu", a / 2**0.5 / 2, saddle, final, moving, host="Cu")
    settings = NebSettings(n_images=3, model="EMT", warm_start=warm_start)
    flow = MigrationBarrierMaker(settings=settings).make(hop)
    responses = run_locally(
        flow,
        store=JobStore(MemoryStore(), additional_stores={"data": MemoryStore()}),
        root_dir=tmp_path,
        ensure_success=True,
    )
    doc = MigrationBarrierDoc.model_validate(responses[flow.jobs[-1].uuid][1].output)
    assert doc.recut_from_image == 1
    assert ("warm start: CHGNet" in doc.engine) == (
        warm_start is not None
    ) or doc.relaxed_hop_length < ONE_MINIMUM
    if doc.relaxed_hop_length < ONE_MINIMUM:
        assert not doc.converged and len(doc.energies) == 2
    else:
        assert doc.converged and doc.saddle_interior and doc.end_point_drop <= DROP_TOLERANCE
        assert doc.forward_barrier == pytest.approx(doc.reverse_barrier, abs=0.02)
        assert 0.5 < doc.forward_barrier < 1.0
        assert doc.relaxed_hop_length == pytest.approx(a / 2**0.5, abs=0.1)
