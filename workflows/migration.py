"""Migration-barrier flow: relax both end points -> IDPP images -> CI-NEB -> barrier.

One flow per hop (:class:`MigrationBarrierMaker`), fanned out over many hops by
:class:`HopBarriersMaker` (for a dual-ion host: Li and Cu hops side by side).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from jobflow import Flow, Job, Maker, job
from pymatgen.core import Structure

from ionflow.analysis.emmet_docs import neb_result
from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc, Provenance
from ionflow.inputs.hops import HopPath, interpolate_idpp
from ionflow.workflows.base import BaseMigrationBarrierMaker, current_job_uuid
from ionflow.workflows.checkpoint import NebCheckpoint
from ionflow.workflows.embedded import relaxed_end_points
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import climb_band, warm_started_band


@job
def relax_end_points(initial: Structure, final: Structure, settings: NebSettings) -> dict:
    """Both end points relaxed at fixed cell (:func:`~ionflow.workflows.embedded.relaxed_end_points`)."""
    return relaxed_end_points(initial, final, settings).as_output()


def relaxed_hop_length(initial: Structure, final: Structure, moving_index: int) -> float:
    """Distance (Å, minimum image) of the hopping ion between the relaxed end points; below
    :data:`~ionflow.analysis.schemas.ONE_MINIMUM` they are one minimum, not a hop."""
    return float(initial[moving_index].distance(final[moving_index]))


@job(data="band")  # the band's images go to the JobStore's data store, not the documents
def climbing_image_neb(end_points: dict, hop: dict, settings: NebSettings) -> MigrationBarrierDoc:
    """IDPP images between the relaxed end points, then CI-NEB on the embedded engine, from
    the IDPP band or warm-started (``settings.warm_start``); none when both end points relaxed
    into one minimum: no hop, no band."""
    start = time.perf_counter()
    extra: dict = {}  # the band (emmet's NebResult) and, for a resumed band, where it resumed
    separation = relaxed_hop_length(end_points["initial"], end_points["final"], hop["moving_index"])
    engine = settings.engine
    if separation < ONE_MINIMUM:
        energies, converged, band_calls = end_points["energies"], False, 0
    else:
        images = interpolate_idpp(end_points["initial"], end_points["final"], settings.n_images)
        if settings.warm_start and settings.warm_start != settings.model:
            _, band = warm_started_band(
                images,
                settings.warm_start,
                settings.model,
                settings.fmax,
                settings.steps,
                dispersion=settings.dispersion,
            )
            engine = f"embedded:{settings.model} (warm start: {settings.warm_start}, {band.start})"
        else:
            band_settings = settings.model_dump(
                include={"model", "dispersion", "fmax", "steps", "climb", "method"}
            )
            band = climb_band(
                images,
                settings.model,
                settings.fmax,
                settings.steps,
                settings.dispersion,
                climb=settings.climb,
                method=settings.method,
                checkpoint=NebCheckpoint.for_band(images, band_settings),
            )
            extra.update(
                resumed_at_step=band.resumed_at_step, force_calls_before_resume=band.force_calls_before_resume
            )
        energies, band_calls = band.energies, band.force_calls
        converged = bool(end_points["converged"]) and band.converged
        tags = [hop["host"], hop["species"], hop["hop_id"], engine, hop["location"]]
        extra["band"] = neb_result(energies, converged, tags, images=band.images).model_dump()
    # the band's end points are not moved by the NEB; their energies are those of the relaxed ends
    return MigrationBarrierDoc.from_hop(
        energies,
        hop,
        relaxed_hop_length=separation,
        converged=converged,
        engine=engine,
        settings=settings.model_dump(exclude_none=True),
        force_calls=end_points["force_calls"] + band_calls,
        wall_time_s=end_points["wall_time_s"] + time.perf_counter() - start,
        provenance=Provenance(job_uuid=current_job_uuid()),
        **extra,
    )


@dataclass
class MigrationBarrierMaker(BaseMigrationBarrierMaker):
    """Barrier of one hop on the embedded engine: relax ends -> IDPP -> CI-NEB.

    Parameters
    ----------
    name
        Flow name.
    settings
        End points, band and warm start (defaults: the ``embedded`` preset).
    """

    name: str = "migration barrier"
    settings: NebSettings = field(default_factory=NebSettings)

    def end_point_jobs(self, hop: HopPath) -> tuple[list[Job], dict]:
        """One job relaxing both end points."""
        ends = relax_end_points(hop.initial, hop.final, self.settings)
        ends.name = f"relax end points {hop.hop_id}"
        return [ends], ends.output

    def band_jobs(self, hop: HopPath, end_points: dict) -> tuple[list[Job], MigrationBarrierDoc]:
        """One job: IDPP (or the warm start) and CI-NEB, ending in the document."""
        neb = climbing_image_neb(end_points, hop.as_dict(), self.settings)
        neb.name = f"CI-NEB {hop.hop_id}"
        return [neb], neb.output


@dataclass
class HopBarriersMaker(Maker):
    """One NEB flow per hop, side by side (e.g. Li and Cu hops of one dual-ion host)."""

    name: str = "hop barriers"
    barrier_maker: BaseMigrationBarrierMaker = field(default_factory=MigrationBarrierMaker)

    def make(self, hops: list[HopPath]) -> Flow:
        """A flow whose output is the list of the hops' :class:`MigrationBarrierDoc`."""
        flows = [self.barrier_maker.make(hop) for hop in hops]
        return Flow(flows, output=[f.output for f in flows], name=self.name)


__all__ = ["HopBarriersMaker", "MigrationBarrierMaker"]
