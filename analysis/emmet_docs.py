"""ionflow's barriers as the documents atomate2 and emmet users query for NEB.

A migration barrier becomes emmet's ``NebResult`` (energies, forward and reverse barrier,
emmet's own ``BarrierAnalysis`` spline, the state, CI-NEB as its method, the band's images
when the data store beside the results holds them), and the barriers of one host and species
an ``NebPathwayResult`` (``hops`` keyed by hop id): ``ionflow barriers --format emmet``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from maggma.core import Store
from pymatgen.core import Structure

if TYPE_CHECKING:
    from emmet.core.neb import NebPathwayResult, NebResult


def neb_result(
    energies: list[float],
    converged: bool,
    tags: list[str],
    identifier: str | None = None,
    images: list[Structure] | None = None,
) -> NebResult:
    """emmet's ``NebResult`` of a climbing-image band (end points included in ``energies``)."""
    # deferred: emmet's NEB module imports its task documents (3 s), which every ionflow
    # command and batch job would pay; only the NEB job and the export need it
    from emmet.core.neb import BarrierAnalysis, NebMethod, NebResult
    from emmet.core.types.enums import TaskState

    return NebResult(
        images=images,
        energies=list(energies),
        image_indices=list(range(len(energies))),
        state=TaskState.SUCCESS if converged else TaskState.FAILED,
        neb_method=NebMethod.CLIMBING_IMAGE,
        forward_barrier=max(energies) - energies[0],
        reverse_barrier=max(energies) - energies[-1],
        barrier_analysis=BarrierAnalysis.from_energies(list(energies)),
        tags=tags,
        identifier=identifier,
    )


def _band_images(data: Store | None, job_uuids: list[str]) -> dict[str, list[dict]]:
    """The band images the data store keeps for each job (jobflow's blobs of the key ``band``)."""
    if data is None or not job_uuids:
        return {}
    data.connect()
    try:
        blobs = data.query(criteria={"job_uuid": {"$in": job_uuids}}, properties=["job_uuid", "data"])
        return {b["job_uuid"]: (b.get("data") or {}).get("images") or [] for b in blobs}
    except Exception:  # a data file not written yet (no band stored): the documents carry no images
        return {}
    finally:
        data.close()


def pathway_results(rows: list[dict[str, Any]], data: Store | None = None) -> list[NebPathwayResult]:
    """One ``NebPathwayResult`` per host and species from stored ``MigrationBarrierDoc`` rows
    (hops that relaxed into one minimum have no band and are left out)."""
    from emmet.core.neb import NebPathwayResult  # deferred: 3 s of imports (see neb_result)

    uuids = [r["provenance"]["job_uuid"] for r in rows if (r.get("provenance") or {}).get("job_uuid")]
    images = _band_images(data, uuids)
    groups: dict[tuple[str, str], dict[str, NebResult]] = {}
    for row in rows:
        if len(row["energies"]) < 3:
            continue
        uuid = (row.get("provenance") or {}).get("job_uuid")
        band = [Structure.from_dict(s) for s in images.get(uuid, [])] or None
        tags = [row["host"], row["species"], row["hop_id"], row["engine"], row.get("location", "bulk")]
        hop = neb_result(row["energies"], bool(row["converged"]), tags, row.get("result_id"), band)
        groups.setdefault((row["host"], row["species"]), {})[row["hop_id"]] = hop
    return [
        NebPathwayResult(
            hops=hops,
            forward_barriers={k: h.forward_barrier for k, h in hops.items()},
            reverse_barriers={k: h.reverse_barrier for k, h in hops.items()},
            identifier=f"{host} {species}",
            tags=[host, species],
            active_species=species,
        )
        for (host, species), hops in sorted(groups.items())
    ]
