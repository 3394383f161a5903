"""Barriers for atomate2/emmet users: emmet's NEB documents, the band in the data store.

``ionflow run barriers`` on the Cu vacancy hop of L1_2 CuAg3 (ASE's EMT, three images): the
results file keeps the small document, the band's images go to jobflow's additional store
``data`` beside it (``RESULTS-data.json``), and ``ionflow barriers --format emmet`` gives
emmet's ``NebPathwayResult`` with the images back.
"""

from __future__ import annotations

import json

import pytest
from emmet.core.neb import NebPathwayResult
from monty.json import MontyDecoder
from pymatgen.core import Lattice, Structure

from tests.cli import ionflow


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("emmet")
    fcc = [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]
    Structure(Lattice.cubic(3.95), ["Cu", "Ag", "Ag", "Ag"], fcc).to(filename=str(folder / "CuAg3.cif"))
    args = ["run", "barriers", str(folder / "CuAg3.cif"), "--species", "Cu", "--model", "EMT"]
    args += ["--no-warm-start", "--images", "3", "--results", str(folder / "r.json")]
    args += ["--work-dir", str(folder / "runs")]
    done = ionflow(*args, cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder


def test_the_results_stay_small_and_the_band_goes_to_the_data_store(run):
    (doc,) = (d for d in json.loads((run / "r.json").read_text()) if d["doc_type"] == "MigrationBarrierDoc")
    assert "band" not in doc
    (blob,) = json.loads((run / "r-data.json").read_text())
    assert blob["job_uuid"] == doc["provenance"]["job_uuid"]
    band = blob["data"]
    assert len(band["images"]) == 5 and band["energies"] == pytest.approx(doc["energies"])
    assert len((run / "r.json").read_bytes()) < len((run / "r-data.json").read_bytes()) / 5


def test_barriers_export_as_emmets_neb_pathway(run):
    out = ionflow("barriers", "--results", str(run / "r.json"), "--format", "emmet").stdout
    (path,) = [NebPathwayResult.model_validate(MontyDecoder().process_decoded(p)) for p in json.loads(out)]
    assert path.active_species == "Cu" and list(path.hops) == ["Cu-hop0"]
    hop = path.hops["Cu-hop0"]
    (doc,) = (d for d in json.loads((run / "r.json").read_text()) if d["doc_type"] == "MigrationBarrierDoc")
    assert hop.forward_barrier == pytest.approx(doc["forward_barrier"])
    assert hop.reverse_barrier == pytest.approx(doc["reverse_barrier"])
    assert hop.state.value == "successful" and hop.neb_method.value == "climbing_image"
    assert len(hop.images) == 5 and all(len(s) == 31 for s in hop.images)
    # the moving Cu is the only atom that travels far: the band's images are the hop's
    shifts = [hop.images[0][i].distance(hop.images[-1][i]) for i in range(31)]
    assert sorted(shifts)[-1] > 2.0 > sorted(shifts)[-2]
    # emmet's own spline through the band peaks at or above the highest image
    assert hop.barrier_analysis.ts_energy >= max(hop.energies) - 1e-3
