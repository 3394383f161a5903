"""Vacancy hops of a mobile ion: symmetry-distinct nearest-neighbour hops as ``HopPath``s.

Hops are found by pymatgen-analysis-diffusion's :class:`MigrationGraph` (symmetry-distinct
hops of the migrating species) and put in a supercell by its ``get_start_end_structures``.
The final structure is the initial one with only the moving ion displaced, so both end
points have identical atom order. Images are IDPP-interpolated by ASE.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import numpy as np
from ase.mep import NEB
from monty.json import MSONable
from pymatgen.analysis.diffusion.neb.full_path_mapper import MigrationGraph
from pymatgen.analysis.diffusion.utils.supercells import get_sc_fromstruct, get_start_end_structures
from pymatgen.analysis.dimensionality import get_dimensionality_larsen
from pymatgen.analysis.graphs import StructureGraph
from pymatgen.analysis.local_env import CutOffDictNN
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.carbon import carbon_geometry, distance_to_carbon
from ionflow.inputs.checks import assert_no_close_atoms, structure_fingerprint
from ionflow.inputs.errors import InputError
from ionflow.inputs.interface import BULK_SITE

MOBILE_SPECIES = ("Li", "Cu", "Na", "Ag")


@dataclass
class HopPath:
    """One vacancy hop of a mobile ion between two equivalent-occupation end points.

    Attributes
    ----------
    hop_id
        Stable name, e.g. ``"Li-hop0"`` or ``"Li-interface-0"``.
    species
        The moving ion.
    length
        Hop length (Å): the distance between the two sites.
    initial, final
        End points, identical but for the moving ion.
    moving_index
        Index of the moving ion in both end points.
    images
        Interpolated path: ``[initial, *intermediates, final]``.
    host
        Name of the host the hop lives in.
    location
        ``"bulk"``, or for interface hops ``"interface"`` / ``"slab-centre"``.
    bulk_sites
        An AP vacancy hop in its bulk cell's site labels (:func:`bulk_sites_key`): a slab's hop
        and a bulk hop with the same key are one hop; empty for others.
    """

    hop_id: str
    species: str
    length: float
    initial: Structure
    final: Structure
    moving_index: int
    images: list[Structure] = field(default_factory=list)
    host: str = ""
    location: str = "bulk"
    bulk_sites: str = ""

    @property
    def fingerprint(self) -> str:
        """Hash of the end points (species, lattice, positions to 1e-3): the hop's identity."""
        return structure_fingerprint(self.initial, self.final, extra=self.species)

    def as_dict(self) -> dict:
        """A JSON-ready summary (structures omitted)."""
        return {
            "fingerprint": self.fingerprint,
            "hop_id": self.hop_id,
            "species": self.species,
            "length": self.length,
            "moving_index": self.moving_index,
            "n_images": len(self.images),
            "host": self.host,
            "location": self.location,
            "bulk_sites": self.bulk_sites,
            "n_atoms": len(self.initial),
        }


def interpolate_idpp(initial: Structure, final: Structure, n_images: int = 5) -> list[Structure]:
    """``n_images`` intermediate images between the end points by ASE's IDPP, end points included."""
    check_end_points(initial, final)
    ends = [AseAtomsAdaptor.get_atoms(s) for s in (initial, final)]
    images = [ends[0]] + [ends[0].copy() for _ in range(n_images)] + [ends[1]]
    NEB(images, method="improvedtangent").interpolate(method="idpp", mic=True)
    return [AseAtomsAdaptor.get_structure(a) for a in images]


def check_end_points(initial: Structure, final: Structure, source: str = "hop end points") -> int:
    """Check that two end points differ only by one moved atom; return its index.

    Raises :class:`InputError` for different compositions, atom order or lattices.
    """
    if len(initial) != len(final) or initial.composition != final.composition:
        raise InputError(
            source,
            f"compositions differ ({initial.composition} vs {final.composition})",
            "give end points with the same atoms",
        )
    if [s.specie for s in initial] != [s.specie for s in final]:
        raise InputError(
            source,
            "atom order differs between the end points",
            "order the atoms of both end points identically",
        )
    if not np.allclose(initial.lattice.matrix, final.lattice.matrix, atol=1e-3):
        raise InputError(source, "the lattices differ", "use the same cell for both end points")
    delta = final.frac_coords - initial.frac_coords
    delta -= np.round(delta)
    moved = np.linalg.norm(initial.lattice.get_cartesian_coords(delta), axis=1)
    movers = np.flatnonzero(moved > 0.1)
    if len(movers) == 0:
        raise InputError(
            source, "the end points are the same structure", "move the hopping ion to its final site"
        )
    return int(np.argmax(moved))


def site_drift(cut: Structure, relaxed: Structure, index: int) -> float:
    """How far (Å) atom ``index`` moved from its cut position in a relaxation, the cell's rigid
    shift (the other atoms' mean displacement: a relaxation with nothing fixed may slide the
    whole crystal) taken out. Same atoms, same order, same lattice."""
    delta = relaxed.frac_coords - cut.frac_coords
    delta -= np.round(delta)
    shift = cut.lattice.get_cartesian_coords(delta)
    rest = np.delete(shift, index, axis=0).mean(axis=0)
    return float(np.linalg.norm(shift[index] - rest))


def nearest_neighbour_distance(structure: Structure, species: str) -> float:
    """Shortest distance (Å) between two sites of ``species``."""
    idx = [i for i, s in enumerate(structure) if s.specie.symbol == species]
    dmat = structure.distance_matrix[np.ix_(idx, idx)]
    np.fill_diagonal(dmat, np.inf)
    return float(dmat.min())


def hop_id(species: str, rank: int) -> str:
    """The name of a host's ``rank``-th shortest symmetry-distinct hop of ``species``."""
    return f"{species}-hop{rank}"


def hop_network(
    host: Structure, species: str, max_distance: float | None = None, sublattice: str | None = None
) -> tuple[MigrationGraph, dict[int, str], float]:
    """The hop network of ``species`` on the sites of ``sublattice`` (by default its own):
    pymatgen-analysis-diffusion's migration graph, every hop up to ``max_distance`` (by default
    1.05 x the sublattice's nearest-neighbour distance); each of its symmetry-distinct hops'
    labels with the hop id :func:`find_hops` gives ``species`` on it (shortest first); the cutoff."""
    sites = sublattice or species
    cutoff = max_distance if max_distance is not None else 1.05 * nearest_neighbour_distance(host, sites)
    graph = MigrationGraph.with_distance(host, sites, max_distance=cutoff)
    by_length = sorted(graph.unique_hops.items(), key=lambda item: float(item[1]["hop"].length))
    return graph, {label: hop_id(species, rank) for rank, (label, _) in enumerate(by_length)}, cutoff


LONGEST_HOP = 8.0
"""Å: no hop longer than this is looked for when a sublattice's percolation cutoff is sought."""
LENGTH_MARGIN = 0.01
"""Å: a cutoff set at a hop's length is raised this much, so that the hop is inside it."""


def percolation_cutoff(host: Structure, sites: str, dimension: int = 3, host_name: str = "") -> float:
    """The shortest cutoff at which every hop between ``sites`` sites up to it joins them into a
    network of ``dimension`` dimensions (Larsen et al.'s dimensionality of the sublattice's
    graph): the hops that any percolating path must be drawn from. Geometry only; which of them
    the ions take is for their barriers (:mod:`ionflow.analysis.transport`)."""
    name = host_name or host.composition.reduced_formula
    sublattice = Structure.from_sites([site for site in host if site.specie.symbol == sites])
    if len(sublattice) == 0:
        raise InputError(name, f"contains no {sites}", "give a species the host has")
    lengths = sorted(
        {round(float(n.nn_distance), 3) for ns in sublattice.get_all_neighbors(LONGEST_HOP) for n in ns}
    )

    def spans(cutoff: float) -> bool:
        graph = StructureGraph.from_local_env_strategy(sublattice, CutOffDictNN({(sites, sites): cutoff}))
        return get_dimensionality_larsen(graph) >= dimension

    if not lengths or not spans(lengths[-1] + LENGTH_MARGIN):
        raise InputError(
            name,
            f"its {sites} sites do not join in {dimension}D with hops up to {LONGEST_HOP:g} Å",
            "give --max-distance for the hops to compute",
        )
    low, high = 0, len(lengths) - 1  # the network only grows with the cutoff: bisect
    while low < high:
        middle = (low + high) // 2
        if spans(lengths[middle] + LENGTH_MARGIN):
            high = middle
        else:
            low = middle + 1
    return round(lengths[low] + LENGTH_MARGIN, 3)


def _minority_pairs(host: Structure, species: str, max_distance: float | None) -> tuple[float, list]:
    """Hops of the single ``species`` ion onto neighbouring sites of the other mobile cations."""
    ion = next(i for i, s in enumerate(host) if s.specie.symbol == species)
    others = {s.specie.symbol for s in host} & set(MOBILE_SPECIES) - {species}
    if not others:
        raise InputError(
            host.composition.reduced_formula,
            f"has a single {species} and no other mobile cation sites to hop to",
            "use a supercell with at least two mobile ions",
        )
    neighbours = [n for n in host.get_neighbors(host[ion], 6.0) if n.specie.symbol in others]
    nearest = min(n.nn_distance for n in neighbours)
    cutoff = max_distance if max_distance is not None else 1.05 * nearest
    return cutoff, [(host[ion], n, float(n.nn_distance)) for n in neighbours if n.nn_distance <= cutoff]


def _vacancy_hop(
    host: Structure, isite, esite, sc_mat: np.ndarray, species: str
) -> tuple[Structure, Structure, int]:
    start, _, _base_sc = get_start_end_structures(isite, esite, host, sc_mat.tolist(), vac_mode=True)
    inv = np.linalg.inv(sc_mat)
    ipos = np.dot(isite.frac_coords, inv)
    epos = np.dot(esite.frac_coords, inv)
    dist = [
        start[i].distance_and_image_from_frac_coords(ipos)[0] if start[i].specie.symbol == species else np.inf
        for i in range(len(start))
    ]
    moving = int(np.argmin(dist))
    final = start.copy()
    # keep the hop continuous: put the ion at the image of the end site next to the start
    frac = start[moving].frac_coords + (epos - ipos)
    final.replace(moving, species, coords=frac)
    return start, final, moving


def canonical_rows(matrix: np.ndarray) -> np.ndarray:
    """The same supercell with its axes relabelled one fixed way: of the matrix's signed row
    permutations that make a right-handed cell, the one whose rows sort highest (the identity
    stays the identity). pymatgen's near-cubic search returns any of them from one run to the
    next (left-handed ones too), so the same host gave NEB cells with other axes, and hops with
    other fingerprints."""
    best: tuple[tuple, np.ndarray] | None = None
    for order in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            relabel = np.zeros((3, 3), dtype=int)
            relabel[range(3), order] = signs
            candidate = relabel @ matrix
            if np.linalg.det(candidate) <= 0:
                continue
            key = tuple(np.asarray(candidate).ravel().tolist())
            if best is None or key > best[0]:
                best = (key, candidate)
    if best is None:
        raise ValueError(f"singular supercell matrix {np.asarray(matrix).tolist()}")
    return best[1]


def _pair_order(pair: tuple) -> tuple:
    """Hops by length, equal lengths by their end site: pymatgen lists a site's neighbours in
    no fixed order, so equally long hops (equivalent by symmetry) came first by turns."""
    _, esite, length = pair
    return round(length, 4), tuple(np.round(esite.frac_coords, 4).tolist())


def neb_supercell(
    host: Structure, name: str, min_length: float, min_atoms: int, max_atoms: int
) -> np.ndarray:
    """The NEB cell's supercell matrix (pymatgen-analysis-diffusion's near-cubic search). That
    search raises its atom limit one by one until it finds a cell, so a cell above
    ``max_atoms`` is refused here with the numbers, not run silently."""
    if max_atoms < len(host):
        raise InputError(name, f"has {len(host)} atoms, more than max_atoms {max_atoms}", "raise --max-atoms")
    if max_atoms < 2 * len(host) and min(host.lattice.abc) >= min_length:
        # only the host's own cell is wanted: no search (pymatgen's returns it relabelled, or
        # on some runs fails and falls back to a doubled cell)
        return np.eye(3, dtype=int)
    sc_mat = canonical_rows(
        np.array(get_sc_fromstruct(host, min_atoms=min_atoms, max_atoms=max_atoms, min_length=min_length))
    )
    n_atoms = len(host) * round(abs(np.linalg.det(sc_mat)))
    if n_atoms > max_atoms:
        raise InputError(
            name,
            f"its smallest near-cubic NEB cell with edges of about {min_length:g} Å holds {n_atoms} "
            f"atoms, more than max_atoms {max_atoms}",
            f"raise --max-atoms to {n_atoms} or lower --min-length",
        )
    return sc_mat


def find_hops(
    host: Structure,
    species: str = "Li",
    host_name: str = "",
    max_distance: float | None = None,
    n_images: int = 5,
    min_length: float = 10.0,
    min_atoms: int = 80,
    max_atoms: int = 240,
    max_hops: int | None = None,
    sublattice: str | None = None,
) -> list[HopPath]:
    """Symmetry-distinct nearest-neighbour vacancy hops of ``species`` in ``host``.

    Parameters
    ----------
    host
        The host structure, containing the mobile species.
    species
        Mobile ion ("Li" or "Cu").
    host_name
        Label carried on each hop.
    max_distance
        Longest hop considered (Å); by default 1.05 x the shortest ``species``-``species``
        distance, i.e. nearest-neighbour hops only.
    n_images
        IDPP images between the end points.
    min_length, min_atoms, max_atoms
        Supercell limits for the NEB cell (pymatgen-analysis-diffusion's supercell search).
    max_hops
        Keep at most this many hops, shortest first.
    sublattice
        Hop ``species`` on the sites of this species instead (a dilute Cu+ on the Li sites of a
        Li host): one ion of ``species`` put on a site of the sublattice, hopping into a vacant
        neighbouring site, for each of the sublattice's hops; named as the sublattice's hops are
        ranked, so the two networks line up (:func:`hop_network`).
    """
    if species not in MOBILE_SPECIES:
        raise InputError(
            "--species",
            f"{species!r} is not a mobile cation ionflow knows",
            f"use one of {', '.join(MOBILE_SPECIES)}",
        )
    name = host_name or host.composition.reduced_formula
    sites = sublattice or species  # the species whose sites the hops join
    count = sum(s.specie.symbol == sites for s in host)
    if sublattice is not None and count < 2:
        raise InputError(
            "--sublattice",
            f"{name} has fewer than two {sublattice} sites",
            "give a species with a sublattice",
        )
    present = {s.specie.symbol for s in host} & set(MOBILE_SPECIES)
    if count == 0:
        raise InputError(
            name,
            f"contains no {species}",
            f"pick a species the host has ({', '.join(sorted(present)) or 'none'})",
        )
    sc_mat = neb_supercell(host, name, min_length, min_atoms, max_atoms)
    if count >= 2:
        # a sublattice (the species' own, or the one given): symmetry-distinct hops from MigrationGraph
        graph, names, cutoff = hop_network(host, species, max_distance, sublattice)
        pairs = [
            (
                graph.unique_hops[label]["hop"].isite,
                graph.unique_hops[label]["hop"].esite,
                float(graph.unique_hops[label]["hop"].length),
            )
            for label in names
        ]
    else:
        # a lone ion (one Cu in a Li host): it hops into a vacancy on the shared cation
        # sublattice, i.e. onto a neighbouring site of another mobile cation
        cutoff, pairs = _minority_pairs(host, species, max_distance)
    hops = []
    seen: list[tuple[float, Structure]] = []
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    for isite, esite, length in sorted(pairs, key=_pair_order):
        initial, final, moving = _vacancy_hop(host, isite, esite, sc_mat, sites)
        if sites != species:  # on another's sublattice: its ion that would hop becomes the species
            for end in (initial, final):
                end.replace(moving, species, coords=end[moving].frac_coords)
        if count < 2 and any(abs(length - l0) < 1e-3 and matcher.fit(initial, s0) for l0, s0 in seen):
            continue  # symmetry-equivalent to a hop already kept
        seen.append((length, initial))
        assert_no_close_atoms(final, f"{name} hop {len(hops)}")
        path = HopPath(hop_id(species, len(hops)), species, length, initial, final, moving, host=name)
        path.images = interpolate_idpp(initial, final, n_images)
        hops.append(path)
        if max_hops is not None and len(hops) >= max_hops:
            break
    if not hops:
        raise InputError(
            "--max-distance", f"no {sites} hop shorter than {cutoff:.2f} Å", "raise --max-distance"
        )
    return hops


def interface_hops(
    interface: Structure, species: str = "Li", host_name: str = "AP/carbon", n_images: int = 5
) -> list[HopPath]:
    """Li hops next to the carbon and in the slab centre of an AP/carbon interface, same cell.

    Each Li hops into a neighbouring intrinsic vacant Li site of the AP frame (see
    :func:`ap_interface_vacancy_hops`); the interface must carry ``region`` labels.
    """
    if species != "Li":
        raise InputError("--species", f"interface hops are built for Li, not {species}", "use --species Li")
    return ap_interface_vacancy_hops(interface, host_name=host_name, n_images=n_images)


AXES = np.array([[1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, 0, 1], [0, 0, -1]], dtype=float)


def _periodic_distance(structure: Structure, a: np.ndarray, b: np.ndarray) -> float:
    """Distance (Å) between Cartesian points ``a`` and ``b``, nearest periodic images."""
    frac = structure.lattice.get_fractional_coords(np.asarray(b) - np.asarray(a))
    return float(np.linalg.norm(structure.lattice.get_cartesian_coords(frac - np.round(frac))))


def _li_o_distance(structure: Structure) -> float:
    """The AP frame's O-Li distance: the median over the O of each O's nearest Li (Å)."""
    li = [i for i, s in enumerate(structure) if s.specie.symbol == "Li"]
    oxygens = [i for i, s in enumerate(structure) if s.specie.symbol == "O"]
    if not li or not oxygens:
        raise InputError("AP structure", "has no Li or no O", "give an anti-perovskite Li2OH(Cl,Br) model")
    return float(np.median([min(structure.get_distance(o, i) for i in li) for o in oxygens]))


def ap_vacant_sites(
    structure: Structure, within: tuple[float, float] | None = None
) -> list[tuple[int, np.ndarray]]:
    """Vacant Li sites of an anti-perovskite: corners of an O's Li octahedron that hold no Li.

    Returns ``(index of the O, Cartesian position)`` for each. The octahedra are taken along
    the Cartesian axes (ionflow's AP cells and slabs keep the cubic axes), with the O-Li
    distance of the structure. ``within`` keeps sites with z in that range (a slab's extent).
    """
    half = _li_o_distance(structure)
    oxygens = [i for i, s in enumerate(structure) if s.specie.symbol == "O"]
    vacant = []
    for o in oxygens:
        for axis in AXES:
            site = structure[o].coords + half * axis
            if within and not within[0] - 0.5 <= site[2] <= within[1] + 0.5:
                continue
            if _is_vacant(structure, site) and not any(
                _periodic_distance(structure, site, v) < 0.1 for _, v in vacant
            ):
                vacant.append((o, site))
    return vacant


def _is_vacant(structure: Structure, site: np.ndarray) -> bool:
    """No atom within 1.2 Å of ``site`` but H: the O-H of its O points at a vacant site, H
    sitting ~1 Å from it; anything else fills it."""
    return all(n.specie.symbol == "H" for n in structure.get_sites_in_sphere(site, 1.2))


@dataclass(frozen=True)
class VacancyHopSites(MSONable):
    """Which Li of an AP model hops into which vacant Li site: the Li's index, the O whose
    octahedron's vacant corner it enters, and the unit axis from that O to the corner. Chosen
    on a built model and cut into the relaxed one (:func:`cut_vacancy_hop`): the same sites
    whatever the relaxation moved."""

    li: int
    oxygen: int
    axis: tuple[float, float, float]


def ap_bulk_hop_sites(bulk: Structure, host_name: str = "AP bulk") -> VacancyHopSites:
    """The bulk AP hop: the first Li (in site order) with a vacant Li site at the shortest
    distance, into that site."""
    li = [i for i, s in enumerate(bulk) if s.specie.symbol == "Li"]
    best = _nearest_vacancy_hop(bulk, li, ap_vacant_sites(bulk))
    if best is None:
        raise InputError(host_name, "has no Li next to a vacant Li site", "give an AP cell with Li vacancies")
    _, i, (o, site) = best
    return VacancyHopSites(i, o, _unit_axis(bulk, bulk[o].coords, site))


def _unit_axis(structure: Structure, origin: np.ndarray, site: np.ndarray) -> tuple[float, float, float]:
    frac = structure.lattice.get_fractional_coords(np.asarray(site) - origin)
    vector = structure.lattice.get_cartesian_coords(frac - np.round(frac))
    return tuple(float(x) for x in vector / np.linalg.norm(vector))


def slab_copy(
    slab: Structure, bulk_hop: VacancyHopSites, goal_z: float, host_name: str = "AP slab"
) -> VacancyHopSites:
    """The bulk hop's copy in a slab cut from that bulk (its sites labelled
    :data:`~ionflow.inputs.interface.BULK_SITE`) whose Li is nearest the height ``goal_z``:
    the same Li site, the same O and the same vacant corner, so the slab's hop and the bulk's
    are one hop (like for like). A copy outside the slab's central half (a slab of one bulk
    cell has one copy, wherever the cut put it) is refused: it checks no slab centre."""
    labels = slab.site_properties.get(BULK_SITE)
    if labels is None:
        raise InputError(host_name, "has no 'bulk_site' labels", "build it with ionflow build interface")
    z = slab.cart_coords[:, 2]
    copies = [i for i, label in enumerate(labels) if label == bulk_hop.li]
    oxygens = [i for i, label in enumerate(labels) if label == bulk_hop.oxygen]
    if not copies or not oxygens:
        raise InputError(
            host_name, "holds no copy of the bulk hop's sites", "build the slab from that bulk cell"
        )
    li = min(copies, key=lambda i: abs(z[i] - goal_z))
    ap = [i for i, label in enumerate(labels) if label >= 0]
    if abs(z[li] - goal_z) > 0.25 * np.ptp(z[ap]):
        raise InputError(
            host_name,
            f"has the bulk hop's copy {abs(z[li] - goal_z):.1f} Å from its middle, outside its central half",
            "use a slab of two or more bulk cells (ionflow build interface --layers 2)",
        )
    oxygen = min(oxygens, key=lambda o: slab.get_distance(o, li))
    site = slab[oxygen].coords + _li_o_distance(slab) * np.asarray(bulk_hop.axis)
    if not _is_vacant(slab, site):
        raise InputError(host_name, "has its copy of the bulk hop's vacant site filled", "use a thicker slab")
    return VacancyHopSites(li, oxygen, bulk_hop.axis)


def cut_vacancy_hop(
    structure: Structure,
    sites: VacancyHopSites,
    hop_id: str,
    host_name: str,
    location: str,
    n_images: int,
) -> HopPath:
    """The hop ``sites`` names, cut into ``structure`` (a relaxed model: the vacant corner is
    put at its O's Li distance along the axis, the periodic image nearest the Li)."""
    corner = structure[sites.oxygen].coords + _li_o_distance(structure) * np.asarray(sites.axis)
    start = structure[sites.li].coords
    frac = structure.lattice.get_fractional_coords(corner - start)
    target = start + structure.lattice.get_cartesian_coords(frac - np.round(frac))
    hop = ap_vacancy_hop(structure, sites.li, (sites.oxygen, target), hop_id, host_name, location, n_images)
    labels = structure.site_properties.get(BULK_SITE) or range(len(structure))  # a bulk cell: itself
    hop.bulk_sites = bulk_sites_key(labels[sites.li], labels[sites.oxygen], sites.axis)
    return hop


def bulk_sites_key(li: int, oxygen: int, axis: tuple[float, float, float]) -> str:
    """An AP vacancy hop named by its bulk cell's sites: ``"Li0>O16+x"`` (Li site 0 into the
    vacant corner of O site 16 along +x)."""
    k = int(np.argmax(np.abs(axis)))
    return f"Li{li}>O{oxygen}{'+' if axis[k] > 0 else '-'}{'xyz'[k]}"


def ap_vacancy_hop(
    structure: Structure,
    li_index: int,
    target: tuple[int, np.ndarray],
    hop_id: str,
    host_name: str,
    location: str,
    n_images: int,
) -> HopPath:
    """Li ``li_index`` hops into the vacant site ``target``; an O-H pointing at that site turns
    to the site the Li leaves, so that both end points are the same kind of minimum."""
    o_index, site = target
    initial = structure.copy()
    final = structure.copy()
    start = structure[li_index].coords
    final.replace(
        li_index,
        "Li",
        coords=site,
        coords_are_cartesian=True,
        properties={k: v[li_index] for k, v in structure.site_properties.items()},
    )
    for h in [i for i, s in enumerate(structure) if s.specie.symbol == "H"]:
        d, image = structure[o_index].distance_and_image(structure[h])
        if d > 1.3:
            continue
        h_pos = structure.lattice.get_cartesian_coords(structure[h].frac_coords + image)
        bond = h_pos - structure[o_index].coords
        if np.linalg.norm(h_pos - site) < 1.3:  # this H pointed at the target: turn it to the old Li site
            o_pos = structure[o_index].coords
            old = start - o_pos
            # the old Li site, as seen from this O (nearest periodic image)
            frac = structure.lattice.get_fractional_coords(old)
            old = structure.lattice.get_cartesian_coords(frac - np.round(frac))
            new = o_pos + np.linalg.norm(bond) * old / np.linalg.norm(old)
            final.replace(
                h,
                "H",
                coords=new,
                coords_are_cartesian=True,
                properties={k: v[h] for k, v in structure.site_properties.items()},
            )
    length = float(np.linalg.norm(site - start))
    path = HopPath(hop_id, "Li", length, initial, final, li_index, host=host_name, location=location)
    check_end_points(initial, final, f"{host_name} {hop_id}")
    path.images = interpolate_idpp(initial, final, n_images)
    return path


def _nearest_vacancy_hop(structure: Structure, candidates: list[int], vacant, max_length: float = 3.2):
    best = None
    for i in candidates:
        for target in vacant:
            d = _periodic_distance(structure, structure[i].coords, target[1])
            if d < max_length and (best is None or d < best[0] - 1e-6):
                best = (d, i, target)
    return best


def ap_bulk_vacancy_hop(structure: Structure, host_name: str = "AP bulk", n_images: int = 5) -> HopPath:
    """Li into a neighbouring intrinsic vacant Li site of bulk AP (the cell as given,
    :func:`ap_bulk_hop_sites`)."""
    sites = ap_bulk_hop_sites(structure, host_name)
    return cut_vacancy_hop(structure, sites, "Li-vacancy", host_name, "bulk", n_images)


def ap_interface_vacancy_hops(
    interface: Structure,
    host_name: str = "AP/carbon",
    n_images: int = 5,
    bulk_hop: VacancyHopSites | None = None,
) -> list[HopPath]:
    """Li into an intrinsic vacant Li site next to the carbon and in the slab centre, same cell.

    Next to the carbon: the Li nearest the carbon that has a vacant site of the AP frame within
    3.2 Å (in the slab's top plane under a sheet; under a tube, the one closest to the tube's
    atoms: a top-plane Li beside the tube is not next to it). In the slab centre: with
    ``bulk_hop`` (the bulk cell's hop, :func:`ap_bulk_hop_sites`), its copy nearest the slab's
    middle (:func:`slab_copy`), so that the slab check compares one hop in slab and bulk;
    without, the Li nearest the middle with a vacant site within 3.2 Å.
    """
    regions = interface.site_properties.get("region")
    if regions is None:
        raise InputError(host_name, "has no 'region' site labels", "build it with ionflow build interface")
    z = interface.cart_coords[:, 2]
    ap = np.array([r == "AP" for r in regions])
    z_lo, z_hi = z[ap].min(), z[ap].max()
    carbon_above = z[~ap].mean() > z_hi
    vacant = ap_vacant_sites(interface, within=(z_lo, z_hi))
    li = [i for i, s in enumerate(interface) if s.specie.symbol == "Li" and regions[i] == "AP"]
    hops = []
    tube = carbon_geometry(interface, regions).kind == "tube"
    middle = 0.5 * (z_lo + z_hi)
    for location, goal in (("interface", z_hi if carbon_above else z_lo), ("slab-centre", middle)):
        hop_id = f"Li-{location}"
        if location == "slab-centre" and bulk_hop is not None:
            sites = slab_copy(interface, bulk_hop, middle, host_name)
            hops.append(cut_vacancy_hop(interface, sites, hop_id, host_name, location, n_images))
            continue
        if location == "interface" and tube:
            order = [li[k] for k in np.argsort(distance_to_carbon(interface, li, regions), kind="stable")]
        else:
            order = sorted(li, key=lambda i: abs(z[i] - goal))
        best = None
        for i in order:  # the closest Li to the goal plane that has a vacant neighbour site
            best = _nearest_vacancy_hop(interface, [i], vacant)
            if best is not None:
                break
        if best is None:
            raise InputError(host_name, f"no {location} Li next to a vacant site", "use a thicker slab")
        _, i, target = best
        hops.append(
            ap_vacancy_hop(interface, i, (target[0], target[1]), hop_id, host_name, location, n_images)
        )
    return hops
