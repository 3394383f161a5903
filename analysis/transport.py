"""From hops to long-range transport: the percolation barrier of a host's hop network.

A species moves through a crystal only along a connected network of hops. Its percolation
barrier in d dimensions is the lowest barrier E such that the hops with barriers up to E
connect the species' sites into an infinite network of dimension at least d (1D channels,
2D layers, 3D); the hop that completes it is the rate-limiting hop. The network is
pymatgen-analysis-diffusion's migration graph of the species' own sublattice
(:func:`ionflow.inputs.hops.hop_network`, the hops :func:`~ionflow.inputs.hops.find_hops`
names); the dimension of the network kept at each barrier is pymatgen's Larsen et al.
dimensionality of that graph (Phys. Rev. Materials 3, 034003 (2019)).

Each hop counts with its kinetically resolved barrier E_KRA (the same both ways along the
hop, so the network does not depend on which end was called initial). A hop enters the network
only with a converged band whose saddle lies between distinct minima; a hop not computed (or
not usable) is left out, and the result says so: a percolation barrier found without it is an
upper bound, since the missing hop might open a lower path. On the same hops, the diffusivity
and conductivity at given temperatures (:mod:`ionflow.analysis.diffusion`).

The network is that of the species' own sublattice, or, for a dilute species on another's
sites (one Cu+ among the Li sites of a Li host), that sublattice's network with the dilute
species' barriers on its hops (``sublattice``: :func:`~ionflow.inputs.hops.find_hops` computes
them); the dilute ion is then assumed to find a vacancy next to it whenever it hops (no
vacancy-solute binding or correlation, as in a five-frequency model's simplest limit).
"""

from __future__ import annotations

import copy

from pymatgen.analysis.dimensionality import get_dimensionality_larsen
from pymatgen.core import Structure

from ionflow.analysis.barriers import DFT_ENGINES, DROP_TOLERANCE
from ionflow.analysis.diffusion import ATTEMPT_FREQUENCY, CARRIER_FRACTION, TEMPERATURES_C, estimate
from ionflow.analysis.schemas import ONE_MINIMUM, NetworkHop, Percolation, TransportDoc, kra_barrier
from ionflow.inputs.errors import InputError
from ionflow.inputs.hops import hop_network

LENGTH_TOLERANCE = 0.01
"""Å: a stored hop matches the network's hop of the same id only if their lengths agree this well."""


def _usable(doc: dict) -> str:
    """Why a stored barrier cannot enter the network ('' when it can)."""
    if not doc.get("converged"):
        return "band not converged"
    relaxed = doc.get("relaxed_hop_length")
    if relaxed is not None and relaxed < ONE_MINIMUM:
        return "end points relax into one minimum: no hop"
    if not doc.get("saddle_interior", True):
        return "path runs downhill: not a barrier"
    if doc.get("end_point_drop", 0.0) > DROP_TOLERANCE:
        return "an end point is not the band's minimum: barrier understated"
    return ""


def network_hops(
    host: Structure,
    species: str,
    docs: list[dict],
    max_distance: float | None = None,
    sublattice: str | None = None,
):
    """The network's graph, its hops with their barriers from ``docs`` (stored
    MigrationBarrierDoc dicts of this host and species), and the cutoff. A hop stored on several
    engines enters with its DFT barrier where one is usable, otherwise with the first usable one
    by engine name; each hop names the engine its barrier came from."""
    graph, names, cutoff = hop_network(host, species, max_distance, sublattice)
    hops: dict[int, NetworkHop] = {}
    for label, name in names.items():
        length = float(graph.unique_hops[label]["hop"].length)
        found = [d for d in docs if d["hop_id"] == name]
        hop = NetworkHop(hop_id=name, length=length, note="not computed")
        # a DFT barrier, where one is stored, is the hop's reference (as in the barrier table)
        for doc in sorted(
            found, key=lambda d: (not d.get("engine", "").startswith(DFT_ENGINES), d.get("engine", ""))
        ):
            if abs(doc["hop_length"] - length) > LENGTH_TOLERANCE:
                raise InputError(
                    f"stored barrier {name} ({doc['hop_length']:.3f} Å)",
                    f"is not the network's {name} ({length:.3f} Å): another cutoff or host cell",
                    "give the host file and --max-distance the hops were computed with",
                )
            reason = _usable(doc)
            if reason:
                hop = NetworkHop(hop_id=name, length=length, engine=doc.get("engine", ""), note=reason)
                continue
            barrier = doc.get("kra_barrier")
            if barrier is None:
                barrier = kra_barrier(doc["forward_barrier"], doc["delta_e"])
            hop = NetworkHop(hop_id=name, length=length, barrier=barrier, engine=doc.get("engine", ""))
            break
        hops[label] = hop
    return graph, hops, cutoff


def percolation_barriers(graph, barriers: dict[int, float]) -> dict[int, tuple[float, int]]:
    """For each dimension d the network reaches: the lowest barrier at which the hops with
    barriers up to it (``barriers``: hop label -> eV; labels without one are left out) span d
    dimensions, and the label of the hop that completes it."""
    found: dict[int, tuple[float, int]] = {}
    for label, barrier in sorted(barriers.items(), key=lambda item: item[1]):
        kept = copy.deepcopy(graph.m_graph)
        for u, v, key, data in list(kept.graph.edges(keys=True, data=True)):
            if barriers.get(data["hop_label"], float("inf")) > barrier:
                kept.graph.remove_edge(u, v, key=key)
        for d in range(1, get_dimensionality_larsen(kept) + 1):
            found.setdefault(d, (barrier, label))
        if 3 in found:
            break
    return found


def transport(
    host: Structure,
    host_name: str,
    species: str,
    docs: list[dict],
    max_distance: float | None = None,
    temperatures_c: tuple[float, ...] | list[float] = TEMPERATURES_C,
    carrier_fraction: float = CARRIER_FRACTION,
    attempt_frequency: float = ATTEMPT_FREQUENCY,
    sublattice: str | None = None,
) -> TransportDoc:
    """The percolation barriers of ``species`` in ``host`` from its stored barriers ``docs``, and
    its diffusivity and conductivity on the same hops (:mod:`ionflow.analysis.diffusion`)."""
    sites = sublattice or species
    if sum(site.specie.symbol == sites for site in host) < 2:
        raise InputError(
            f"host {host_name}",
            f"has fewer than two {sites} sites: no {sites} sublattice to percolate through",
            f"give the host without the dilute {species} and --sublattice, e.g. --sublattice Li"
            if sublattice is None
            else "give a species with a sublattice",
        )
    graph, hops, cutoff = network_hops(host, species, docs, max_distance, sublattice)
    if not hops:
        raise InputError(
            "--max-distance",
            f"no {species} hop shorter than {cutoff:.2f} Å in {host_name}",
            "raise --max-distance",
        )
    barriers = {label: hop.barrier for label, hop in hops.items() if hop.barrier is not None}
    if not barriers:
        raise InputError(
            f"host {host_name}",
            f"no usable {species} barrier stored for its hops ({', '.join(h.hop_id for h in hops.values())})",
            f"run them first: ionflow run barriers HOST --species {species}",
        )
    found = percolation_barriers(graph, barriers)
    if 1 not in found:
        computed = ", ".join(hops[label].hop_id for label in barriers)
        raise InputError(
            f"host {host_name}",
            f"its {species} hops with a barrier ({computed}) connect no {species} path through the crystal",
            "compute the longer hops (ionflow run barriers with more --max-hops) or raise --max-distance",
        )
    percolation = [
        Percolation(dimension=d, barrier=found[d][0], hop_id=hops[found[d][1]].hop_id)
        if d in found
        else Percolation(dimension=d)
        for d in (1, 2, 3)
    ]
    return TransportDoc(
        host=host_name,
        species=species,
        sublattice=sites,
        cutoff=cutoff,
        hops=sorted(hops.values(), key=lambda h: h.length),
        percolation=percolation,
        complete=len(barriers) == len(hops),
        diffusion=estimate(graph, barriers, list(temperatures_c), carrier_fraction, attempt_frequency),
    )
