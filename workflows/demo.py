"""The main job: both studies on small cells, on the embedded engine, end to end.

1. AP/carbon (the Li2OH-terminated AP (001) face): the charge transfer to graphene, and the Li
   hops next to a (5,0) nanotube and in its slab's centre, against the same hop in bulk AP
   (like for like); the graphene's hops and the contact scan on request.
2. A Li+/Cu+ dual-ion host (Li6PS5Cl with one Cu+): Li and Cu migration barriers side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from jobflow import Flow, Job, Maker
from pymatgen.core import Structure

from ionflow.inputs.antiperovskite import build_ap_orderings
from ionflow.inputs.conductor import build_dual_ion_conductor
from ionflow.inputs.contacts import CONTACT_CHANGES, LI_INTERSTITIAL
from ionflow.inputs.hops import (
    ap_bulk_hop_sites,
    ap_interface_vacancy_hops,
    cut_vacancy_hop,
    find_hops,
    slab_copy,
)
from ionflow.inputs.interface import (
    REGION,
    InterfaceModel,
    build_ap_graphene_interface,
    build_cnt_on_ap,
    bulk_in_plane_cell,
)
from ionflow.workflows.base import AP_PERIOD
from ionflow.workflows.charge_transfer import ChargeTransferMaker
from ionflow.workflows.contact_scan import ContactScanMaker
from ionflow.workflows.embedded import relax_positions
from ionflow.workflows.host_hops import host_barriers_job, host_flow, relaxed_hop_host
from ionflow.workflows.migration import MigrationBarrierMaker
from ionflow.workflows.settings import ChargeTransferSettings, NebSettings


@dataclass
class InterfaceVsBulkMaker(Maker):
    """Li hops into an intrinsic vacant Li site in bulk AP, next to the carbon and in the slab
    centre, with the same settings and the same in-plane periodicity (like for like): the slab
    centre's hop is the bulk hop's copy (the same Li site, O and vacant corner of the bulk cell
    the slab was cut from), so the slab check compares one hop in slab and bulk.

    Parameters
    ----------
    name
        Flow name.
    barrier_maker
        The migration-barrier maker used for every hop. ``NebSettings(dispersion=True)`` adds
        DFT-D3 to every band (bulk too, like for like); off by default: in a measured run it
        left the slab-centre band unconverged after 500 steps and added 5 minutes.
    slab_centre
        Run the slab-centre hop, the slab's check: it needs a slab of two or more bulk cells
        (one cell holds the bulk hop's only copy next to a face; refused before anything runs).
        Without it the interface hop is not compared with bulk.
    """

    name: str = "interface vs bulk"
    barrier_maker: MigrationBarrierMaker = field(default_factory=MigrationBarrierMaker)
    slab_centre: bool = True

    def make(self, ap_bulk: Structure, interface: InterfaceModel, host: str = "AP") -> Flow:
        """Two jobs, bulk and interface, each relaxing its host and then replaced by its hops'
        CI-NEB flows (:mod:`ionflow.workflows.host_hops`); the output is their documents."""
        jobs = self.host_jobs(ap_bulk, interface, host)
        return Flow(jobs, output=[j.output for j in jobs], name=self.name)

    def host_jobs(self, ap_bulk: Structure, interface: InterfaceModel, host: str = "AP") -> list[Job]:
        """The bulk job (bulk AP in the interface's in-plane cell) and the interface job, to run
        as one flow or as two side by side."""
        bulk = bulk_in_plane_cell(ap_bulk, interface)
        bulk_hop = ap_bulk_hop_sites(bulk, f"{host} bulk")  # the slab centre runs its copy
        name = slab_host(interface, host)
        if self.slab_centre:  # its copy in the slab's central half, or one line now
            regions = interface.structure.site_properties[REGION]
            z = interface.structure.cart_coords[[r == "AP" for r in regions], 2]
            slab_copy(interface.structure, bulk_hop, 0.5 * (z.min() + z.max()), name)
        cut = "AP interface" if self.slab_centre else "AP contact"
        return [
            host_barriers_job(bulk, "AP bulk", f"{host} bulk", self.barrier_maker, bulk_hop),
            host_barriers_job(interface.structure, cut, name, self.barrier_maker, bulk_hop),
        ]


def slab_host(interface: InterfaceModel, host: str = "AP") -> str:
    """The hops' host name of an AP/carbon model: "AP/graphene", "AP/CNT", with its slab's bulk
    cells when more than one ("AP/graphene (2-cell slab)")."""
    cells = interface.info.get("slab_cells", 1)
    return f"{host}/{carbon_name(interface)}" + (f" ({cells}-cell slab)" if cells > 1 else "")


def carbon_name(interface: InterfaceModel) -> str:
    """The carbon of an AP/carbon model, as its hosts' names say it: CNT or graphene."""
    return "CNT" if interface.info.get("kind") == "CNT/AP" else "graphene"


def interface_vs_bulk_hops(
    ap_bulk: Structure,
    interface: InterfaceModel,
    n_images: int,
    host: str = "AP",
    force_field: str = "CHGNet",
) -> list:
    """The same hops as :class:`InterfaceVsBulkMaker`, cut here (its hosts relaxed on
    ``force_field`` as its jobs relax them, :func:`~ionflow.workflows.host_hops.relaxed_hop_host`):
    for the benchmark, which runs the bands itself."""
    settings = NebSettings(model=force_field, n_images=n_images)
    built = bulk_in_plane_cell(ap_bulk, interface)
    bulk_hop = ap_bulk_hop_sites(built, f"{host} bulk")
    bulk = relaxed_hop_host(built, settings)
    hops = [cut_vacancy_hop(bulk, bulk_hop, "Li-vacancy", f"{host} bulk", "bulk", n_images)]
    return hops + ap_interface_vacancy_hops(
        relaxed_hop_host(interface.structure, settings), slab_host(interface, host), n_images, bulk_hop
    )


def dual_ion_hops(n_images: int, max_hops: int | dict[str, int] = 1) -> list:
    """The nearest Li and Cu hops in Li6PS5Cl with one Cu+ (lowest-Ewald ordering, its positions
    relaxed at fixed cell on CHGNet first: Cu+ sits off the Li site it replaced, and a vacancy
    cut into the unrelaxed cell would let a second ion move with the hopping one).

    ``max_hops``: hops per species, one number for both or ``{"Li": 3, "Cu": 1}``."""
    ranked, _ = build_dual_ion_conductor("Li6PS5Cl", n_cu=1, keep=1, rank_by="ewald")
    (host,), _ = relax_positions([ranked[0].structure], "CHGNet", fmax=0.02, steps=1000)
    hops = []
    for species in ("Li", "Cu"):
        hops += find_hops(
            host,
            species,
            host_name="Li6PS5Cl:Cu",
            n_images=n_images,
            min_length=7.0,
            min_atoms=1,
            max_hops=max_hops if isinstance(max_hops, int) else max_hops.get(species, 1),
        )
    return hops


def demo_flows(
    quick: bool = False, donor: bool = False, contacts: bool = False, slab_check: bool = False
) -> list[tuple[str, Flow]]:
    """The demo's flows, each with a label, the longest first (workers take them in order).

    The DFT grid (h = 0.22 Å, k-spacing 0.4 1/Å) and 3 images for the AP/carbon cells keep the
    main job within 15 minutes on 2 cores with two workers; the Li/Cu argyrodite hops use 5
    images. AP/carbon (:func:`ap_carbon_flows`): the Li2OH face's charge transfer to graphene
    (one bulk cell of slab, 52 atoms), and the Li hops under a (5,0) nanotube on a slab of two
    bulk cells (100 atoms; the CNT row): next to the tube and in the slab's middle, the bulk
    hop's copy there, against that bulk hop (the slab's check). ``donor`` adds the contact
    scan's donor (a Li added at the graphene contact: its charge transfer and its Li hop, beside
    the built contact's; about 15 minutes of one core, beyond the main job's budget);
    ``contacts`` scans every contact: the LiCl face as built, Br, the donor or a Li vacancy at
    the Li2OH face, and the nanotube's charge transfer as built (graphene vs CNT).
    ``slab_check`` adds the graphene on a slab of two bulk cells (92 atoms): its interface and
    slab-centre hops (17 minutes more of one core; 22 minutes in all on 2 cores). ``quick`` (a smoke
    test): a coarser grid and 3 images everywhere.
    """
    host_neb = MigrationBarrierMaker(settings=NebSettings(n_images=3 if quick else 5))
    # the nearest Li hop and the nearest Cu hop, Cu's first (the longer). The three nearest Li
    # hops relax into one minimum or into a rattle within a Li pair (the vacancy pulls the ion
    # onto the site between): no long-range barrier; those are ``ionflow run study``'s
    hops = sorted(dual_ion_hops(host_neb.settings.n_images, 1), key=lambda h: h.species != "Cu")
    dual_ion = [
        (f"CI-NEB {hop.species} {hop.hop_id} Li6PS5Cl:Cu ({len(hop.initial)} atoms)", host_neb.make(hop))
        for hop in hops
    ]
    return ap_carbon_flows(quick, donor, contacts, slab_check) + dual_ion


def ap_carbon_flows(
    quick: bool = False, donor: bool = False, contacts: bool = False, slab_check: bool = False
) -> list[tuple[str, Flow]]:
    """The demo's AP/carbon flows (:func:`demo_flows` has the options), the longest first."""
    ap_bulk = build_ap_orderings(x_br=0.25, supercell=(1, 1, 4), keep=1, rank_by="ewald")[0][0].structure
    dft = {"h": 0.25 if quick else 0.22, "kspacing": 0.4}
    charge_maker = ChargeTransferMaker(settings=ChargeTransferSettings(dft=dft, period=AP_PERIOD))
    ap_neb = MigrationBarrierMaker(settings=NebSettings(n_images=3))
    # the tube on a slab of two bulk cells: its interface hop and its slab's check (the bulk
    # hop's copy in the slab's middle) against the bulk hop; a slab of one cell holds no copy in
    # its middle: the graphene's one-cell slab runs its interface hop only, with the contact
    # scan (its reference), and on two cells with ``slab_check``
    checker = InterfaceVsBulkMaker(barrier_maker=ap_neb)
    bulk, under_tube = interface_vs_bulk_flows(checker, ap_bulk, smallest_tube_on_ap(ap_bulk, 2), "AP")
    charges, interfaces = [], {}
    # the LiCl face as built joins with ``contacts`` (termination is one of the scan's axes)
    for termination in ("LiCl", "Li2OH") if contacts else ("Li2OH",):
        model = graphene_on_ap(ap_bulk, termination)
        name = f"AP/graphene {termination}"
        interfaces[termination] = model
        label = f"charge transfer {name} ({len(model.structure)} atoms)"
        charges.append((label, charge_maker.make(model.structure, name, termination)))
    if contacts:  # graphene vs CNT: the scan's carbon axis, as built (its SCF ~10 min of one core)
        tube = smallest_tube_on_ap(ap_bulk)
        label = f"charge transfer AP/CNT Li2OH ({len(tube.structure)} atoms)"
        charges.append((label, charge_maker.make(tube.structure, "AP/CNT Li2OH", "Li2OH")))
    # the contact scan: a Li added at the Li2OH contact (a donor) with ``donor``, every variant
    # with ``contacts``: each variant's charge transfer and its Li hop next to the carbon, beside
    # the built contact's interface hop (host "AP/graphene")
    changes = CONTACT_CHANGES[1:] if contacts else (LI_INTERSTITIAL,) if donor else ()
    scan = ContactScanMaker(charge_maker=charge_maker, changes=changes, barrier_maker=ap_neb)
    parts = scan.labelled_flows(interfaces["Li2OH"], "AP/graphene Li2OH", host="AP/graphene")
    scan_flows = [(f"contact scan: {label}", flow) for label, flow in parts]
    if scan_flows:
        one_cell = InterfaceVsBulkMaker(barrier_maker=ap_neb, slab_centre=False)
        scan_flows.append(interface_vs_bulk_flows(one_cell, ap_bulk, interfaces["Li2OH"], "AP")[1])
    if slab_check:  # the graphene on two bulk cells: its hops and its slab's check (bulk: below)
        thick = graphene_on_ap(ap_bulk, "Li2OH", 2)
        scan_flows.insert(0, interface_vs_bulk_flows(checker, ap_bulk, thick, "AP")[1])
    # the longest first (bulk and interface hosts are relaxed in their jobs, each flow beside
    # the others): the tube's hops, the scan's, the charge transfers, then bulk (the
    # argyrodite's hops, the shortest, follow in demo_flows)
    return [under_tube, *scan_flows, *charges[::-1], bulk]


def interface_vs_bulk_flows(
    maker: InterfaceVsBulkMaker, ap_bulk: Structure, interface: InterfaceModel, host: str
) -> list[tuple[str, Flow]]:
    """The maker's bulk and interface jobs as two labelled flows (they run side by side)."""
    bulk, near_carbon = (host_flow(job) for job in maker.host_jobs(ap_bulk, interface, host))
    atoms = len(interface.structure)
    where = "Li barriers: {}, interface and slab centre" if maker.slab_centre else "Li barrier: {}, interface"
    return [
        (f"Li barrier: {bulk.name}", bulk),
        (f"{where.format(near_carbon.name)} ({atoms} atoms)", near_carbon),
    ]


def graphene_on_ap(ap_bulk: Structure, termination: str = "Li2OH", cells: int = 1) -> InterfaceModel:
    """The main job's graphene on the AP (001) ``termination`` face, on a slab of ``cells`` bulk
    cells (the graphene strained 7 % to the AP's 1 x 2 in-plane cell, the AP not at all)."""
    return build_ap_graphene_interface(ap_bulk, termination, repeats=cells, max_strain=0.08, vacuum=8.0)


def smallest_tube_on_ap(ap_bulk: Structure, cells: int = 1) -> InterfaceModel:
    """The main job's nanotube: a (5,0) CNT (3.9 Å across) lying on the Li2OH face of the same
    AP slab as the graphene's, in the same 1 x 2 AP in-plane cell (60 atoms on one bulk cell
    of slab, 100 on the main job's two): along the AP's a
    axis one tube period (4.26 Å) fits one AP cell with the tube compressed 7.4 % (the graphene
    is strained 7 % too, the AP slab not at all), and across it 4.0 Å of vacuum separate the
    tube from its image. Same slab, same cell: its hops compare with the same bulk AP hop as
    the graphene's. A toy beside the seed study's tubes (tens of nm across, locally graphene):
    what it adds is the curvature; the cluster path takes the (6,6) model."""
    return build_cnt_on_ap(
        ap_bulk,
        chirality=(5, 0),
        termination="Li2OH",
        repeats=cells,
        clearance=3.0,
        max_length=4.0,
        max_strain=0.08,
        vacuum=8.0,
    )
