"""Charge-transfer flow on the embedded engine (CHGNet + GPAW + baderkit), on a 22-atom interface.

The interface is a non-polar stack (a polar one is refused unless asked for, tested below).
Physics checked: Bader electrons add up to the all-electron count; Li is a cation, O and Cl
anions; charge is conserved between the two sides; a non-polar contact of the wide-gap
insulator with graphene moves no electrons; a polar AP slab carries the dipole its formal plane
charges say (sign and size, on GPAW), a non-polar one a small fraction of it.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.build import graphene
from jobflow import run_locally
from pymatgen.core import Lattice, Structure

from ionflow.analysis.potential import planar_average, read_potential_cube
from ionflow.analysis.schemas import InterfaceChargeTransferDoc
from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.contacts import AS_BUILT, LI_INTERSTITIAL, LI_VACANCY
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import REGION, build_ap_graphene_interface, build_cnt_on_ap
from ionflow.inputs.io import write_models
from ionflow.workflows.charge_transfer import ChargeTransferMaker, centred_along_c, relax_interface
from ionflow.workflows.contact_scan import ContactScanMaker
from ionflow.workflows.gpaw_engine import run_static_density
from ionflow.workflows.settings import ChargeTransferSettings, DftSettings
from tests.cli import ionflow, one_line_error

FAST_DFT = {"h": 0.22, "kspacing": 0.5}


@pytest.fixture(scope="module")
def tiny_model():
    """Li2OH-terminated Li2OHCl (001) slab under a 12-atom graphene sheet (22 atoms), stacked
    non-polar (Li2Cl2 | Li2O2H2, the builder's default)."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    model = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=6.0)
    assert len(model.structure) == 22 and model.polarity.tasker == "I"
    return model


@pytest.fixture(scope="module")
def tiny_interface(tiny_model):
    return tiny_model.structure


SCANNED = (AS_BUILT, LI_INTERSTITIAL)


@pytest.fixture(scope="module")
def scan(tiny_model, tmp_path_factory) -> dict[str, InterfaceChargeTransferDoc]:
    """The contact scan on the tiny interface: as built, a Li added at the contact, a top Li
    removed (GPAW on the built geometries)."""
    maker = ChargeTransferMaker(settings=ChargeTransferSettings(dft=FAST_DFT, period=3.91), relax=False)
    flow = ContactScanMaker(charge_maker=maker, changes=SCANNED).make(tiny_model, "tiny Li2OH")
    root = tmp_path_factory.mktemp("charge")
    responses = run_locally(flow, create_folders=True, root_dir=root, log=False, ensure_success=True)
    return {change: responses[f.output.uuid][1].output for change, f in zip(SCANNED, flow.jobs, strict=True)}


@pytest.fixture(scope="module")
def transfer(scan) -> InterfaceChargeTransferDoc:
    return scan[AS_BUILT]


def test_a_donor_at_the_contact_gives_the_carbon_electrons_and_sets_the_field(scan):
    """Which contact moves electrons, and the field's sign against the transfer's, on DFT: a Li
    added between the slab and graphene is a donor (its 2s electron goes to graphene's pi band);
    the field and the interface dipole follow the electrons."""
    donor, built = scan[LI_INTERSTITIAL], scan[AS_BUILT]
    assert donor.interface == "tiny Li2OH, Li interstitial at the contact" and built.interface == "tiny Li2OH"
    assert donor.stack.startswith("Li interstitial (donor)") and "+1" in donor.stack
    assert abs(built.electrons_to_carbon) < 0.03  # the built contact: Bader's noise
    assert 0.3 < donor.electrons_to_carbon <= 1.0  # ionised, and at most the one electron it brought
    assert abs(sum(donor.region_charges.values())) < 0.05  # conserved
    assert donor.field > 0 and donor.dipole_step > 0


@pytest.mark.slow  # ~1.5 min; the donor above runs by default
def test_an_acceptor_at_the_contact_takes_electrons_from_the_carbon(tiny_model, tmp_path):
    """A Li taken from the top plane is an acceptor: its hole, in the AP's anion p band, takes
    electrons from graphene (0.18 e here, on the unrelaxed 21-atom cell; checked against three
    times the built contact's Bader noise), and the field and dipole turn with them."""
    maker = ChargeTransferMaker(settings=ChargeTransferSettings(dft=FAST_DFT, period=3.91), relax=False)
    flow = ContactScanMaker(charge_maker=maker, changes=(LI_VACANCY,)).make(tiny_model, "tiny Li2OH")
    responses = run_locally(flow, create_folders=True, root_dir=tmp_path, log=False, ensure_success=True)
    acceptor = responses[flow.jobs[0].output.uuid][1].output
    assert acceptor.stack.startswith("Li vacancy (acceptor)") and "-1" in acceptor.stack
    assert -1.0 <= acceptor.electrons_to_carbon < -0.1
    assert abs(sum(acceptor.region_charges.values())) < 0.05
    assert acceptor.field < 0 and acceptor.dipole_step < 0


def test_bader_charges_add_up_to_the_electron_count(transfer):
    bader = transfer.bader
    assert bader.expected_electrons == 136  # all-electron: sum of Z of Li4 O2 H2 Cl2 C12
    assert abs(bader.total_electrons - bader.expected_electrons) / bader.expected_electrons < 0.01
    # the two sides' net charges cancel: the cell is neutral
    assert abs(sum(transfer.region_charges.values())) < 0.02 * len(bader.species)


def test_ions_have_the_signs_of_their_oxidation_states(transfer):
    means = transfer.bader.species_mean()
    charges = np.array(transfer.bader.net_charges)
    species = np.array(transfer.bader.species)
    assert (charges[species == "Li"] > 0.5).all()
    assert means["O"] < -1.0 and means["Cl"] < -0.5


def test_a_non_polar_contact_of_the_insulator_moves_no_electrons(transfer):
    """Li2OHCl is a wide-gap insulator and graphene's Fermi level lies in its gap: with no
    defect level at the contact no electron has a state to move to, so the Bader transfer is
    zero within the partition's noise (its regions' sum, below). The polar stack of the same
    atoms gave 0.24 e to graphene: its dipole's compensation, not the contact's chemistry."""
    assert transfer.stack == "non-polar (Tasker I)"
    assert abs(transfer.electrons_to_carbon) < 0.03
    assert transfer.electrons_to_carbon == pytest.approx(-transfer.region_charges["carbon"])
    assert transfer.field is not None and abs(transfer.field) < 0.2  # V/Å: no transfer, no strong field
    assert "difference" in transfer.profile and len(transfer.profile["z"]) == len(transfer.profile["planar"])
    planes = transfer.z_planes
    assert planes["AP centre"] < planes["AP top"] < planes["carbon"]


@pytest.mark.slow  # a second GPAW run (~40 s); the default suite stays under 30 min
def test_a_polar_stack_carries_the_dipole_its_formal_charges_say(transfer, tmp_path):
    """DFT against the formal-charge count: the polar AP slab alone (Cl2 -2 under Li4O2H2 +2,
    dipole up) drops the electron's potential energy from the bottom vacuum to the top one by
    volts, less than the unscreened 23 V (the electrons screen it) but never reversed; the
    non-polar slab of the same atoms (the flow's own AP reference) steps by a quarter of that
    at most, the difference of its two faces (LiCl and LiOH) only."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    polar = build_ap_graphene_interface(
        ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=6.0, non_polar=False
    )
    assert polar.polarity.polar and polar.polarity.dipole_per_area > 0
    slab = centred_along_c(Structure.from_sites([s for s in polar.structure if s.properties[REGION] == "AP"]))
    grid = read_potential_cube(
        run_static_density(slab, DftSettings(**FAST_DFT), tmp_path, slab=True)["files"]["potential"]
    )
    planar, c = planar_average(grid.values), grid.structure.lattice.c
    z = np.arange(len(planar)) * c / len(planar)
    heights = slab.cart_coords[:, 2]
    step = np.interp(0.5 * (heights.max() + c), z, planar) - np.interp(0.5 * heights.min(), z, planar)
    assert -polar.polarity.potential_step < step < -3.0
    assert abs(transfer.reference_steps["AP"]) < abs(step) / 4


@pytest.fixture(scope="module")
def donor_on_graphene() -> Structure:
    """One Li adatom under a 2x2 graphene sheet (8 C), in the hollow site 1.71 Å from the sheet
    (PBE, Chan, Neaton and Cohen, PRB 77, 235430 (2008)); Li stands as the "AP" side."""
    sheet = graphene(a=2.46, vacuum=0.0) * (2, 2, 1)
    lattice = Lattice([sheet.cell[0], sheet.cell[1], [0.0, 0.0, 14.0]])
    carbon = [[x, y, 8.0] for x, y, _ in sheet.positions]
    hollow = sheet.positions[0] + sheet.cell[0] / 6 + sheet.cell[1] / 3  # a hexagon's centre
    return Structure(
        lattice,
        ["C"] * len(carbon) + ["Li"],
        [*carbon, [hollow[0], hollow[1], 8.0 - 1.71]],
        coords_are_cartesian=True,
        site_properties={REGION: ["carbon"] * len(carbon) + ["AP"]},
    )


@pytest.mark.slow  # ~1 min; the contact scan's donor above checks the same in the default run
def test_electrons_a_donor_gives_graphene_set_the_field_that_follows_them(donor_on_graphene, tmp_path):
    """The sign of the field against the sign of the transfer, on DFT: an alkali adatom is a
    donor (its 2s electron goes to graphene's pi band), so the field and the interface dipole
    point from the Li to the carbon (positive), and the Li side's vacuum level drops (an alkali
    lowers the work function)."""
    li = donor_on_graphene[8]
    assert min(li.distance(c, jimage=None) for c in donor_on_graphene[:8]) > 2.0  # hollow: 6 C at 2.2 Å
    maker = ChargeTransferMaker(
        settings=ChargeTransferSettings(dft=FAST_DFT, period=1.0), relax=False, allow_polar=True
    )
    flow = maker.make(donor_on_graphene, "Li on graphene", "Li")
    responses = run_locally(flow, create_folders=True, root_dir=tmp_path, log=False, ensure_success=True)
    donor = responses[flow.output.uuid][1].output
    assert 0.3 < donor.electrons_to_carbon <= 1.0  # ionised, and at most its one valence electron
    assert donor.region_charges["AP"] == pytest.approx(donor.electrons_to_carbon, abs=0.05)  # conserved
    assert donor.field > 0 and donor.dipole_step > 0


@pytest.mark.slow  # ~10 min: three GPAW runs of 56 atoms
def test_charge_transfer_to_a_nanotube_through_the_same_flow(tmp_path):
    """The seed system's carbon on the embedded engine, as small as it goes: a (3,3) tube
    (36 C, 6 % axial strain) lying on a one-cell Li2OH-terminated slab (56 atoms), through the
    same flow as graphene (relaxed on CHGNet, GPAW, Bader, the potential through the tube's
    axis). Physics: electrons counted and conserved, ions charged as they should be, and the
    field's sign that of the transfer's where there is one."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    model = build_cnt_on_ap(
        ap, chirality=(3, 3), termination="Li2OH", clearance=2.5, max_length=8.0, max_strain=0.08, vacuum=6.0
    )
    assert len(model.structure) == 56 and not model.polarity.polar
    maker = ChargeTransferMaker(settings=ChargeTransferSettings(dft=FAST_DFT, period=3.91))
    flow = maker.make(model.structure, "AP/CNT (3,3)", "Li2OH")
    responses = run_locally(flow, create_folders=True, root_dir=tmp_path, log=False, ensure_success=True)
    tube = responses[flow.output.uuid][1].output
    assert tube.carbon_shape == "tube" and tube.converged
    bader = tube.bader
    assert abs(bader.total_electrons - bader.expected_electrons) / bader.expected_electrons < 0.01
    assert abs(sum(tube.region_charges.values())) < 0.02 * len(bader.species)
    charges, species = np.array(bader.net_charges), np.array(bader.species)
    assert (charges[species == "Li"] > 0.5).all() and (charges[species == "Cl"] < -0.5).all()
    planes = tube.z_planes
    assert planes["AP centre"] < planes["AP top"] < planes["carbon"]
    assert tube.field is not None and tube.dipole_step is not None
    if abs(tube.electrons_to_carbon) > 0.05:  # a transfer beyond Bader's noise sets the field's sign
        assert np.sign(tube.field) == np.sign(tube.electrons_to_carbon)


def test_every_job_records_engine_settings_and_time(transfer):
    assert transfer.engine == "embedded:GPAW"  # not relaxed: GPAW alone ran
    assert transfer.settings["dft"]["h"] == FAST_DFT["h"]
    assert transfer.wall_time_s > 0
    assert all(f.endswith(".cube") for f in transfer.provenance.source_files)


def test_relaxation_keeps_the_bottom_fixed_and_the_regions(tiny_interface, tmp_path):
    job = relax_interface(
        tiny_interface,
        ChargeTransferSettings(
            model="CHGNet", dispersion=False, relax={"fix_bottom": 0.5, "fmax": 0.1, "steps": 5}
        ),
    )
    out = run_locally(job, create_folders=True, root_dir=tmp_path, log=False, ensure_success=True)[job.uuid][
        1
    ].output
    relaxed = out["structure"]
    assert relaxed.site_properties["region"] == tiny_interface.site_properties["region"]
    assert out["fixed_atoms"] > 0 and out["force_calls"] > 0
    assert out["engine"] == "CHGNet"  # no D3 asked for
    # fixed atoms keep their relative positions (the whole slab is only re-centred along c)
    z0, z1 = tiny_interface.cart_coords[:, 2], relaxed.cart_coords[:, 2]
    bottom = np.argsort(z0)[: out["fixed_atoms"]]
    shift = z1[bottom] - z0[bottom]
    assert np.ptp(shift) < 1e-6
    assert np.allclose(relaxed.cart_coords[bottom, :2], tiny_interface.cart_coords[bottom, :2], atol=1e-6)


def test_interface_without_regions_is_refused(tiny_interface):
    plain = tiny_interface.copy()
    plain.remove_site_property("region")
    with pytest.raises(InputError, match="region"):
        ChargeTransferMaker().make(plain, "plain")


def test_stored_result_reads_back_as_table_and_plot(transfer, tmp_path):
    import json
    import subprocess

    from ionflow.analysis.store import results_store, save_results

    store_path = tmp_path / "r.json"
    assert save_results(results_store(store_path), [transfer, transfer]) == 2
    out = subprocess.run(
        ["ionflow", "charges", "--results", str(store_path), "--format", "json"],
        capture_output=True,
        text=True,
    )
    rows = json.loads(out.stdout)
    assert len(rows) == 1  # the same result stored twice is one document
    assert rows[0]["e⁻ AP→C"] == pytest.approx(transfer.electrons_to_carbon)
    assert rows[0]["Bader sum/expected"] == pytest.approx(1.0, abs=0.01)
    png = tmp_path / "pot.png"
    plot = subprocess.run(
        ["ionflow", "plot", "potential", "tiny Li2OH", "--results", str(store_path), "--out", str(png)],
        capture_output=True,
        text=True,
    )
    assert plot.returncode == 0, plot.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    missing = subprocess.run(
        ["ionflow", "plot", "potential", "nope", "--results", str(store_path)], capture_output=True, text=True
    )
    assert missing.returncode == 2 and "ionflow charges" in missing.stderr


def test_build_interface_reports_the_polarity_and_the_flow_refuses_a_polar_stack(tmp_path):
    """summary.json carries the planes and the Tasker type (written as `ionflow build interface`
    writes it; the non-polar default: tests/inputs/test_polarity.py); `ionflow run charges` on the polar
    stack is one line naming the fix, exit 2, with no results file and no run folder made."""
    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    model = build_ap_graphene_interface(
        ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=6.0, non_polar=False
    )
    write_models(tmp_path / "polar", {"interface": model.structure}, model.info)
    polar = json.loads((tmp_path / "polar" / "summary.json").read_text())["polarity"]
    assert polar["tasker"] == "III" and polar["polar"]
    assert [p["charge"] for p in polar["planes"]] == [-2.0, 2.0]
    results, work = tmp_path / "results.json", tmp_path / "runs"
    refused = ionflow(
        "run", "charges", str(tmp_path / "polar" / "interface.json"),
        "--results", str(results), "--work-dir", str(work),
    )  # fmt: skip
    line = one_line_error(refused)
    assert "polar stack" in line and "--non-polar" in line and "--allow-polar" in line
    assert not results.exists() and not work.exists()
