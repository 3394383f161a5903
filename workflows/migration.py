"""Migration-barrier flow: relax both end points -> IDPP images -> CI-NEB -> barrier.

One flow per hop (:class:`MigrationBarrierMaker`), fanned out over many hops by
:class:`HopBarriersMaker` (for a dual-ion host: Li and Cu hops side by side).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from jobflow import Flow, Job, Maker, job
from pymatgen.core import Structure

from ionflow.analysis.barriers import DROP_TOLERANCE
from ionflow.analysis.emmet_docs import neb_result
from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc, Provenance, side_minima
from ionflow.inputs.hops import HopPath, interpolate_idpp
from ionflow.workflows.base import BaseMigrationBarrierMaker, current_job_uuid
from ionflow.workflows.checkpoint import NebCheckpoint
from ionflow.workflows.end_points import relaxed_end_points
from ionflow.workflows.gpaw_engine import check_neb_cell
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import BandRun, climb_band, warm_started_band


@job
def relax_end_points(initial: Structure, final: Structure, settings: NebSettings) -> dict:
    """Both end points relaxed at fixed cell (:func:`~ionflow.workflows.end_points.relaxed_end_points`)."""
    return relaxed_end_points(initial, final, settings).as_output()


def relaxed_hop_length(initial: Structure, final: Structure, moving_index: int) -> float:
    """Distance (Å, minimum image) of the hopping ion between the relaxed end points; below
    :data:`~ionflow.analysis.schemas.ONE_MINIMUM` they are one minimum, not a hop."""
    return float(initial[moving_index].distance(final[moving_index]))


def not_a_minimum(energies: list[float]) -> tuple[int, int] | None:
    """Whether the band shows an end point that is no minimum: ``(end, image)``, the end point
    (0 or -1) and the image to re-relax it from, or None. A saddle at an end point (the band
    runs downhill from it) is re-relaxed from its neighbouring image; an image more than
    :data:`~ionflow.analysis.barriers.DROP_TOLERANCE` below its side's end point is taken as it."""
    top, (left, initial_drop), (right, final_drop) = side_minima(energies)
    if top == 0:
        return 0, 1
    if top == len(energies) - 1:
        return -1, len(energies) - 2
    drops = {(0, left): initial_drop, (-1, right): final_drop}
    worst = max(drops, key=drops.get)
    return worst if drops[worst] > DROP_TOLERANCE else None


def recut(
    end_points: dict, band_images: list[Structure], which: tuple[int, int], settings: NebSettings
) -> dict:
    """The end points with end ``which[0]`` replaced by image ``which[1]`` of the band, both
    relaxed again by the one end-point relaxer; force calls and wall time added up."""
    ends = [end_points["initial"], end_points["final"]]
    ends[which[0]] = band_images[which[1]]
    again = relaxed_end_points(*ends, settings, cut=end_points.get("cut")).as_output()
    for key in ("force_calls", "wall_time_s"):
        again[key] += end_points[key]
    return again


def band_settings(settings: NebSettings) -> dict:
    """The settings that make a band what it is (its checkpoint's key with its start)."""
    return settings.model_dump(
        include={"model", "dispersion", "fmax", "steps", "climb", "method", "dft", "warm_start"},
        exclude_none=True,
    )


def plain_band(end_points: dict, settings: NebSettings) -> BandRun:
    """IDPP images between the end points and CI-NEB from them, resuming from a checkpoint."""
    images = interpolate_idpp(end_points["initial"], end_points["final"], settings.n_images)
    return climb_band(
        images,
        settings.model,
        settings.fmax,
        settings.steps,
        settings.dispersion,
        climb=settings.climb,
        method=settings.method,
        checkpoint=NebCheckpoint.for_band(images, band_settings(settings)),
        calculator_kwargs=settings.calculator_kwargs,
    )


def run_band(end_points: dict, settings: NebSettings) -> tuple[BandRun, str]:
    """The CI-NEB band between relaxed end points, warm-started (``settings.warm_start``) or
    plain from IDPP, and the engine string its document carries. The warm start's expensive
    calls are kept in the band's checkpoint as they finish: a killed job, rerun, reads them back."""
    if settings.warm_start and settings.warm_start != settings.model:
        images = interpolate_idpp(end_points["initial"], end_points["final"], settings.n_images)
        _, band = warm_started_band(
            images,
            settings.warm_start,
            settings.model,
            settings.fmax,
            settings.steps,
            dispersion=settings.dispersion,
            expensive_kwargs=settings.calculator_kwargs,
            checkpoint=NebCheckpoint.for_band(images, band_settings(settings)),
        )
        return band, f"{settings.engine} (warm start: {settings.warm_start}, {band.start})"
    return plain_band(end_points, settings), settings.engine


@job(data="band")  # the band's images go to the JobStore's data store, not the documents
def climbing_image_neb(end_points: dict, hop: dict, settings: NebSettings) -> MigrationBarrierDoc:
    """IDPP images between the relaxed end points, then CI-NEB on the embedded engine, from
    the IDPP band or warm-started (``settings.warm_start``); none when both end points relaxed
    into one minimum: no hop, no band. A band (plain or warm-started) that shows an end point is
    no minimum (:func:`not_a_minimum`) has that end point re-relaxed from the band and is run
    again, once."""
    start = time.perf_counter()
    extra: dict = {}  # the band (emmet's NebResult), a re-cut, and where a resumed band resumed
    separation = relaxed_hop_length(end_points["initial"], end_points["final"], hop["moving_index"])
    earlier_calls = 0
    if separation < ONE_MINIMUM:
        return _document(
            end_points["energies"], False, 0, end_points, hop, separation, settings, start, extra
        )
    band, engine = run_band(end_points, settings)
    which = not_a_minimum(band.energies)
    if which is not None:
        earlier_calls = band.force_calls
        end_points = recut(end_points, band.images, which, settings)
        extra["recut_from_image"] = which[1]
        separation = relaxed_hop_length(end_points["initial"], end_points["final"], hop["moving_index"])
        if separation < ONE_MINIMUM:
            energies = end_points["energies"]
            return _document(
                energies, False, earlier_calls, end_points, hop, separation, settings, start, extra
            )
        band, engine = run_band(end_points, settings)
    extra.update(
        resumed_at_step=band.resumed_at_step, force_calls_before_resume=band.force_calls_before_resume
    )
    converged = bool(end_points["converged"]) and band.converged
    tags = [hop["host"], hop["species"], hop["hop_id"], engine, hop["location"]]
    extra["band"] = neb_result(band.energies, converged, tags, images=band.images).model_dump()
    calls = earlier_calls + band.force_calls
    return _document(
        band.energies, converged, calls, end_points, hop, separation, settings, start, extra, engine
    )


def _document(
    energies: list[float],
    converged: bool,
    band_calls: int,
    end_points: dict,
    hop: dict,
    separation: float,
    settings: NebSettings,
    start: float,
    extra: dict,
    engine: str | None = None,
) -> MigrationBarrierDoc:
    """The hop's document; the band's end points are not moved by the NEB, so their energies
    are those of the relaxed ends."""
    return MigrationBarrierDoc.from_hop(
        energies,
        hop,
        relaxed_hop_length=separation,
        converged=converged,
        engine=engine or settings.engine,
        settings=settings.model_dump(exclude_none=True),
        force_calls=end_points["force_calls"] + band_calls,
        site_drift=end_points.get("site_drift"),
        wall_time_s=end_points["wall_time_s"] + time.perf_counter() - start,
        provenance=Provenance(job_uuid=current_job_uuid()),
        **extra,
    )


@dataclass
class MigrationBarrierMaker(BaseMigrationBarrierMaker):
    """Barrier of one hop on the embedded engine (a potential, or GPAW with ``model="GPAW"``):
    relax ends -> IDPP -> CI-NEB.

    Parameters
    ----------
    name
        Flow name.
    settings
        End points, band and warm start (defaults: the ``embedded`` preset).
    """

    name: str = "migration barrier"
    settings: NebSettings = field(default_factory=NebSettings)

    def check_hop(self, hop: HopPath) -> None:
        """GPAW (``settings.dft``): setups for every element and a cell large enough for its
        k-point settings; the potentials take any cell."""
        if self.settings.dft is not None:
            check_neb_cell(hop.initial, self.settings.dft, f"{hop.host} {hop.hop_id}")

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
