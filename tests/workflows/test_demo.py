"""The main job end to end (slow: several minutes on 2 cores; run with -m slow)."""

from __future__ import annotations

import json
import subprocess

import pytest


@pytest.mark.slow
def test_quick_demo_prints_both_tables_and_stores_everything(tmp_path):
    run = subprocess.run(
        ["ionflow", "run", "demo", "--quick", "--results", "r.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=1800,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Charge transfer across AP/carbon" in run.stdout and "Migration barriers" in run.stdout
    docs = json.loads((tmp_path / "r.json").read_text())
    kinds = [d["doc_type"] for d in docs]
    assert kinds.count("InterfaceChargeTransferDoc") == 1
    # the nearest Li hop and Cu hop in Li6PS5Cl:Cu; AP bulk; under the nanotube on a slab of two
    # bulk cells, the interface hop and the slab-centre hop (the bulk hop's copy)
    assert kinds.count("MigrationBarrierDoc") == 5
    locations = sorted(d["location"] for d in docs if d["doc_type"] == "MigrationBarrierDoc")
    assert locations == ["bulk", "bulk", "bulk", "interface", "slab-centre"]
    centre, bulk = (
        next(d for d in docs if d.get("location") == where and d.get("bulk_sites"))
        for where in ("slab-centre", "bulk")
    )
    assert centre["bulk_sites"] == bulk["bulk_sites"]  # one hop, in the slab and in bulk
    assert kinds.count("CompletedFlowRecord") == len({d["provenance"]["flow_uuid"] for d in docs})
    for doc in docs:
        if doc["doc_type"] != "CompletedFlowRecord":  # each flow's record of its stored results
            assert doc["engine"].startswith("embedded:") and doc["wall_time_s"] > 0
    # nothing written outside the work folder and the results file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ionflow-runs", "r.json", "r.json.lock"]


def test_the_main_jobs_tube_lies_on_the_graphenes_slab_in_its_cell():
    """The CNT row compares with the graphene's: the same AP slab (atoms, cell, no strain on
    the AP), non-polar, so both interfaces' hops are checked against one bulk hop; the tube
    does not touch its periodic image (more than graphite's 3.35 Å between walls)."""
    import numpy as np

    from ionflow.inputs.antiperovskite import build_ap_orderings
    from ionflow.inputs.interface import build_ap_graphene_interface, bulk_in_plane_cell
    from ionflow.workflows.demo import smallest_tube_on_ap

    ap = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    tube = smallest_tube_on_ap(ap)
    graphene = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.08, vacuum=8.0)
    assert tube.info["kind"] == "CNT/AP" and not tube.polarity.polar
    assert tube.info["ap_in_plane_supercell"] == graphene.info["ap_in_plane_supercell"]
    assert np.allclose(tube.structure.lattice.abc[:2], graphene.structure.lattice.abc[:2])
    assert tube.strain["side"] == "carbon" and graphene.strain["side"] == "carbon"

    def ap_slab(model):
        s = model.structure
        ap_sites = [i for i, r in enumerate(s.site_properties["region"]) if r == "AP"]
        xyz = s.cart_coords[ap_sites] - s.cart_coords[ap_sites].min(axis=0)
        order = np.lexsort(xyz.T.round(3))
        return [s[i].specie.symbol for i in np.array(ap_sites)[order]], xyz[order]

    (tube_species, tube_xyz), (sheet_species, sheet_xyz) = ap_slab(tube), ap_slab(graphene)
    assert tube_species == sheet_species and np.allclose(tube_xyz, sheet_xyz, atol=1e-6)
    assert bulk_in_plane_cell(ap, tube) == bulk_in_plane_cell(ap, graphene)
    # the main job's tube on two bulk cells: the same in-plane cell, so the same bulk hop
    assert bulk_in_plane_cell(ap, smallest_tube_on_ap(ap, 2)) == bulk_in_plane_cell(ap, tube)
    carbon = [site for site in tube.structure if site.properties["region"] == "carbon"]
    y = np.array([site.coords[1] for site in carbon])
    gap = tube.structure.lattice.b - np.ptp(y)  # wall to wall across the periodic image
    assert gap > 3.35


def test_the_full_contact_scan_sets_graphene_beside_the_nanotube():
    """``--contacts``: one scan over the contact's axes, the carbon one included: the tube as
    built gets its charge transfer and its Li hops beside the graphene's (no job runs here)."""
    from ionflow.workflows.demo import ap_carbon_flows

    labels = [label.split(" (")[0] for label, _ in ap_carbon_flows(contacts=True)]
    assert "charge transfer AP/CNT Li2OH" in labels and "charge transfer AP/graphene Li2OH" in labels
    assert "charge transfer AP/graphene LiCl" in labels
    assert "Li barriers: AP/CNT" in labels  # the main job's tube, on two bulk cells
    assert "Li barrier: AP/graphene, interface" in labels  # the built contact, beside its variants
    assert sum(label.startswith("Li barrier: AP bulk") for label in labels) == 1  # one bulk for all
    # the two faces and the tube as built, and three variants of the Li2OH face
    assert sum("charge transfer" in label for label in labels) == 6


def test_the_main_job_has_the_tube_row_and_the_donor_on_request():
    """The main job: graphene's charge transfer, the Li hops under the tube on a slab of two bulk
    cells (next to the tube and the slab's check) against the bulk hop; the donor (its charge
    transfer and hop, beside the built contact's) only with ``donor``; the graphene on two bulk
    cells only with ``slab_check``."""
    from ionflow.workflows.demo import ap_carbon_flows

    main = [label.split(" (")[0] for label, _ in ap_carbon_flows()]
    assert main == [
        "Li barriers: AP/CNT",
        "charge transfer AP/graphene Li2OH",
        "Li barrier: AP bulk",
    ]
    assert "(2-cell slab), interface and slab centre" in ap_carbon_flows()[0][0]
    with_donor = [label.split(" (")[0] for label, _ in ap_carbon_flows(donor=True)]
    added = sorted(set(with_donor) - set(main))
    assert added == [
        "Li barrier: AP/graphene, interface",
        "contact scan: Li barriers AP/graphene, Li interstitial at the contact, interface",
        "contact scan: charge transfer AP/graphene Li2OH, Li interstitial at the contact",
    ]
    checked = [label for label, _ in ap_carbon_flows(slab_check=True)]
    firsts = [label.split(" (")[0] for label in checked[:2]]
    assert firsts == ["Li barriers: AP/CNT", "Li barriers: AP/graphene"]
    assert "2-cell slab), interface and slab centre" in checked[1]
    assert sum(label.startswith("Li barrier: AP bulk") for label in checked) == 1
