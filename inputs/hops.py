"""Vacancy hops of a mobile ion: symmetry-distinct nearest-neighbour hops as ``HopPath``s.

Hops are found by pymatgen-analysis-diffusion's :class:`MigrationGraph` (symmetry-distinct
hops of the migrating species) and put in a supercell by its ``get_start_end_structures``.
The final structure is the initial one with only the moving ion displaced, so both end
points have identical atom order. Images are IDPP-interpolated by ASE.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ase.mep import NEB
from pymatgen.analysis.diffusion.neb.full_path_mapper import MigrationGraph
from pymatgen.analysis.diffusion.utils.supercells import get_sc_fromstruct, get_start_end_structures
from pymatgen.analysis.structure_matcher import StructureMatcher
from pymatgen.core import Structure
from pymatgen.io.ase import AseAtomsAdaptor

from ionflow.inputs.checks import assert_no_close_atoms, structure_fingerprint
from ionflow.inputs.errors import InputError

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


def nearest_neighbour_distance(structure: Structure, species: str) -> float:
    """Shortest distance (Å) between two sites of ``species``."""
    idx = [i for i, s in enumerate(structure) if s.specie.symbol == species]
    dmat = structure.distance_matrix[np.ix_(idx, idx)]
    np.fill_diagonal(dmat, np.inf)
    return float(dmat.min())


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
    """
    if species not in MOBILE_SPECIES:
        raise InputError(
            "--species",
            f"{species!r} is not a mobile cation ionflow knows",
            f"use one of {', '.join(MOBILE_SPECIES)}",
        )
    count = sum(s.specie.symbol == species for s in host)
    name = host_name or host.composition.reduced_formula
    present = {s.specie.symbol for s in host} & set(MOBILE_SPECIES)
    if count == 0:
        raise InputError(
            name,
            f"contains no {species}",
            f"pick a species the host has ({', '.join(sorted(present)) or 'none'})",
        )
    sc_mat = np.array(
        get_sc_fromstruct(host, min_atoms=min_atoms, max_atoms=max_atoms, min_length=min_length)
    )
    if count >= 2:
        # the species' own sublattice: symmetry-distinct hops from MigrationGraph
        cutoff = (
            max_distance if max_distance is not None else 1.05 * nearest_neighbour_distance(host, species)
        )
        graph = MigrationGraph.with_distance(host, species, max_distance=cutoff)
        pairs = [(i["hop"].isite, i["hop"].esite, float(i["hop"].length)) for i in graph.unique_hops.values()]
    else:
        # a lone ion (one Cu in a Li host): it hops into a vacancy on the shared cation
        # sublattice, i.e. onto a neighbouring site of another mobile cation
        cutoff, pairs = _minority_pairs(host, species, max_distance)
    hops = []
    seen: list[tuple[float, Structure]] = []
    matcher = StructureMatcher(primitive_cell=False, scale=False, attempt_supercell=False)
    for isite, esite, length in sorted(pairs, key=lambda p: p[2]):
        initial, final, moving = _vacancy_hop(host, isite, esite, sc_mat, species)
        if count < 2 and any(abs(length - l0) < 1e-3 and matcher.fit(initial, s0) for l0, s0 in seen):
            continue  # symmetry-equivalent to a hop already kept
        seen.append((length, initial))
        assert_no_close_atoms(final, f"{name} hop {len(hops)}")
        path = HopPath(f"{species}-hop{len(hops)}", species, length, initial, final, moving, host=name)
        path.images = interpolate_idpp(initial, final, n_images)
        hops.append(path)
        if max_hops is not None and len(hops) >= max_hops:
            break
    if not hops:
        raise InputError(
            "--max-distance", f"no {species} hop shorter than {cutoff:.2f} Å", "raise --max-distance"
        )
    return hops


def interface_hops(
    interface: Structure, species: str = "Li", host_name: str = "AP/carbon", n_images: int = 5
) -> list[HopPath]:
    """Shortest in-plane ``species`` vacancy hop in the AP layer nearest the carbon and in the
    slab centre, in the same interface cell, for a like-for-like comparison.

    The interface must carry the site property ``region`` ("AP"/"carbon").
    """
    if "region" not in interface.site_properties:
        raise InputError(host_name, "has no 'region' site labels", "build it with ionflow build interface")
    region = interface.site_properties["region"]
    z = interface.cart_coords[:, 2]
    mobile = [i for i, s in enumerate(interface) if s.specie.symbol == species and region[i] == "AP"]
    if len(mobile) < 2:
        raise InputError(
            host_name, f"has fewer than two {species} in the AP region", "build a thicker or wider slab"
        )
    carbon_z = z[[i for i in range(len(interface)) if region[i] == "carbon"]]
    ap_z = z[[i for i in range(len(interface)) if region[i] == "AP"]]
    carbon_above = carbon_z.min() > ap_z.max() - 1e-6
    top_z = z[mobile].max() if carbon_above else z[mobile].min()
    centre = 0.5 * (ap_z.min() + ap_z.max())
    centre_z = z[mobile][np.argmin(np.abs(z[mobile] - centre))]
    hops = []
    for location, plane in (("interface", top_z), ("slab-centre", centre_z)):
        layer = [i for i in mobile if abs(z[i] - plane) < 0.5]
        best = None
        for a in layer:
            for b in layer:
                if a < b:
                    d = interface.get_distance(a, b)
                    if best is None or d < best[0]:
                        best = (d, a, b)
        if best is None:
            raise InputError(
                host_name, f"the {location} {species} layer has a single ion", "use a wider interface cell"
            )
        d, a, b = best
        initial = interface.copy()
        initial.remove_sites([b])
        moving = a if a < b else a - 1
        final = initial.copy()
        _, image = interface[a].distance_and_image(interface[b])
        final.replace(moving, species, coords=interface[b].frac_coords + image, properties={"region": "AP"})
        path = HopPath(
            f"{species}-{location}",
            species,
            float(d),
            initial,
            final,
            moving,
            host=host_name,
            location=location,
        )
        path.images = interpolate_idpp(initial, final, n_images)
        hops.append(path)
    return hops
