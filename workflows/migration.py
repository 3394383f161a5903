"""Migration-barrier flow: relax both end points -> IDPP images -> CI-NEB -> barrier.

One flow per hop (:class:`MigrationBarrierMaker`), fanned out over many hops by
:class:`HopBarriersMaker` (for a dual-ion host: Li and Cu hops side by side).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from jobflow import Flow, Maker, job
from pymatgen.core import Structure

from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc, Provenance
from ionflow.inputs.hops import HopPath, interpolate_idpp
from ionflow.inputs.presets import load_preset
from ionflow.workflows.accelerated import climb_band, warm_started_band
from ionflow.workflows.embedded import CountedRelaxMaker


def embedded_neb_settings(overrides: dict | None = None) -> dict:
    """The embedded engine's settings: preset ``embedded`` merged with ``overrides``."""
    preset = load_preset("embedded")
    return {**preset["forcefield"], **preset["neb"], **(overrides or {})}


@job
def relax_end_points(initial: Structure, final: Structure, settings: dict) -> dict:
    """Relax both end points at fixed cell to ``end_point_fmax`` (``end_point_optimizer``, an
    ASE optimizer's name); atom order is kept."""
    start = time.perf_counter()
    maker = CountedRelaxMaker(
        force_field_name=settings["model"],
        dispersion=bool(settings.get("dispersion", False)),
        relax_cell=False,
        steps=settings["end_point_steps"],
        relax_kwargs={"fmax": settings["end_point_fmax"]},
        optimizer_kwargs={"optimizer": settings["end_point_optimizer"]},
    )
    relaxed = [maker._run_ase_safe(s.copy()) for s in (initial, final)]
    return {
        "initial": relaxed[0].final_mol_or_struct,
        "final": relaxed[1].final_mol_or_struct,
        "converged": all(bool(r.is_force_converged) for r in relaxed),
        "energies": [float(r.trajectory.frame_properties[-1]["energy"]) for r in relaxed],
        "force_calls": maker.force_calls,
        "wall_time_s": time.perf_counter() - start,
    }


def relaxed_hop_length(initial: Structure, final: Structure, moving_index: int) -> float:
    """Distance (Å, minimum image) of the hopping ion between the relaxed end points; below
    :data:`~ionflow.analysis.schemas.ONE_MINIMUM` they are one minimum, not a hop."""
    return float(initial[moving_index].distance(final[moving_index]))


@job
def climbing_image_neb(end_points: dict, hop: dict, settings: dict) -> MigrationBarrierDoc:
    """IDPP images between the relaxed end points, then CI-NEB on the embedded engine (none
    when both end points relaxed into one minimum: no hop, no band)."""
    start = time.perf_counter()
    separation = relaxed_hop_length(end_points["initial"], end_points["final"], hop["moving_index"])
    dispersion = bool(settings.get("dispersion", False))
    engine = f"embedded:{settings['model']}" + ("+D3" if dispersion else "")
    if separation < ONE_MINIMUM:
        energies, converged, band_calls = end_points["energies"], False, 0
    else:
        images = interpolate_idpp(end_points["initial"], end_points["final"], settings["n_images"])
        if settings.get("warm_start") and settings["warm_start"] != settings["model"]:
            _, band = warm_started_band(
                images,
                settings["warm_start"],
                settings["model"],
                settings["fmax"],
                settings["steps"],
                dispersion=dispersion,
            )
            engine = f"embedded:{settings['model']} (warm start: {settings['warm_start']}, {band.start})"
        else:
            band = climb_band(
                images,
                settings["model"],
                settings["fmax"],
                settings["steps"],
                dispersion,
                climb=settings["climb"],
                method=settings["method"],
            )
        energies, band_calls = band.energies, band.force_calls
        converged = bool(end_points["converged"]) and band.converged
    # the band's end points are not moved by the NEB; their energies are those of the relaxed ends
    return MigrationBarrierDoc.from_hop(
        energies,
        hop,
        relaxed_hop_length=separation,
        converged=converged,
        engine=engine,
        settings=settings,
        force_calls=end_points["force_calls"] + band_calls,
        wall_time_s=end_points["wall_time_s"] + time.perf_counter() - start,
        provenance=Provenance(job_uuid=current_job_uuid()),
    )


def current_job_uuid() -> str | None:
    """UUID of the running jobflow job, if any."""
    from jobflow import CURRENT_JOB

    return CURRENT_JOB.job.uuid if CURRENT_JOB.job is not None else None


@dataclass
class MigrationBarrierMaker(Maker):
    """Barrier of one hop on the embedded engine: relax ends -> IDPP -> CI-NEB.

    Parameters
    ----------
    name
        Flow name.
    settings
        Overrides of the ``embedded`` preset (``fmax``, ``n_images``, ``steps`` ...).
    """

    name: str = "migration barrier"
    settings: dict = field(default_factory=dict)

    def make(self, hop: HopPath) -> Flow:
        """The flow for ``hop``; its output is a :class:`MigrationBarrierDoc`."""
        settings = embedded_neb_settings(self.settings)
        ends = relax_end_points(hop.initial, hop.final, settings)
        ends.name = f"relax end points {hop.hop_id}"
        neb = climbing_image_neb(ends.output, hop.as_dict(), settings)
        neb.name = f"CI-NEB {hop.hop_id}"
        return Flow([ends, neb], output=neb.output, name=f"{self.name} {hop.host} {hop.hop_id}")


@dataclass
class HopBarriersMaker(Maker):
    """One NEB flow per hop, side by side (e.g. Li and Cu hops of one dual-ion host)."""

    name: str = "hop barriers"
    barrier_maker: MigrationBarrierMaker = field(default_factory=MigrationBarrierMaker)

    def make(self, hops: list[HopPath]) -> Flow:
        """A flow whose output is the list of the hops' :class:`MigrationBarrierDoc`."""
        flows = [self.barrier_maker.make(hop) for hop in hops]
        return Flow(flows, output=[f.output for f in flows], name=self.name)


__all__ = ["HopBarriersMaker", "MigrationBarrierMaker"]
