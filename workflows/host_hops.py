"""Hops cut into a host that is relaxed inside the flow, as a job.

A built host sits on symmetric saddles, so hops are cut into it once its positions are relaxed
(:func:`~ionflow.workflows.embedded.relaxed_host`). Done while a flow is built, that relaxation
runs in the submitting process, one host after the other (minutes for a 116-atom nanotube
model); as a job it runs where the flow runs, beside other flows, and the job then replaces
itself with the hops' CI-NEB flows (jobflow's ``Response(replace=...)``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from jobflow import Flow, Job, Response, job
from pymatgen.core import Structure

from ionflow.inputs.hops import (
    HopPath,
    VacancyHopSites,
    ap_bulk_hop_sites,
    ap_interface_vacancy_hops,
    cut_vacancy_hop,
)
from ionflow.workflows.base import BaseMigrationBarrierMaker
from ionflow.workflows.embedded import relaxed_host
from ionflow.workflows.end_points import relaxed_like_an_end_point
from ionflow.workflows.migration import HopBarriersMaker
from ionflow.workflows.settings import NebSettings


def _ap_bulk(
    built: Structure, host: Structure, host_name: str, n_images: int, bulk_hop: VacancyHopSites | None
) -> list[HopPath]:
    sites = bulk_hop or ap_bulk_hop_sites(built, host_name)  # chosen on the built cell
    return [cut_vacancy_hop(host, sites, "Li-vacancy", host_name, "bulk", n_images)]


def _ap_interface(
    built: Structure, host: Structure, host_name: str, n_images: int, bulk_hop: VacancyHopSites | None
) -> list[HopPath]:
    return ap_interface_vacancy_hops(host, host_name=host_name, n_images=n_images, bulk_hop=bulk_hop)


def _ap_contact(
    built: Structure, host: Structure, host_name: str, n_images: int, bulk_hop: VacancyHopSites | None
) -> list[HopPath]:
    hops = _ap_interface(built, host, host_name, n_images, None)
    return [hop for hop in hops if hop.location == "interface"]


class HopCut(NamedTuple):
    """How hops are cut into a relaxed host (from the built host, the relaxed one, the host's
    name, the images and the bulk hop's sites, if any), and how many it cuts."""

    cut: Callable[[Structure, Structure, str, int, VacancyHopSites | None], list[HopPath]]
    hops: int


HOP_CUTS: dict[str, HopCut] = {
    "AP bulk": HopCut(_ap_bulk, 1),
    "AP interface": HopCut(_ap_interface, 2),
    "AP contact": HopCut(_ap_contact, 1),
}
"""The hop cuts by name: the Li vacancy hop of bulk AP (the given bulk hop, or the one chosen on
the built cell); the Li vacancy hops next to the carbon and in the slab centre of an AP/carbon
interface (the slab centre's: the bulk hop's copy, when one is given); the one next to the carbon
only (a contact variant, whose slab centre is its built contact's)."""

JOBS_PER_HOP = 2
"""A barrier maker's jobs per hop: end points, then the band."""
EXPECTED_JOBS = "expected_jobs"
"""Job metadata: the jobs this job will have run once replaced (for the progress display)."""


def relaxed_hop_host(structure: Structure, settings: NebSettings) -> Structure:
    """A built host relaxed on ``settings.model`` from rattled positions
    (:func:`~ionflow.workflows.embedded.relaxed_host`), then on to its end points' criterion:
    each vacancy hop cut into it starts from the host itself, relaxed once for all its hops
    (:func:`~ionflow.workflows.end_points.relaxed_like_an_end_point`)."""
    return relaxed_like_an_end_point(relaxed_host(structure, settings.model), settings)


@job(name="relax host, cut hops")
def barriers_in_relaxed_host(
    structure: Structure,
    cut: str,
    host_name: str,
    barrier_maker: BaseMigrationBarrierMaker,
    bulk_hop: VacancyHopSites | None = None,
) -> Response:
    """Relax ``structure`` on the barrier maker's force field (:func:`relaxed_hop_host`), cut its
    hops (``HOP_CUTS[cut]``; ``bulk_hop``: the bulk hop's sites, the same in the bulk job and in
    the slab's, like for like) and replace this job by their CI-NEB flows."""
    settings = barrier_maker.settings
    host = relaxed_hop_host(structure, settings)
    hops = HOP_CUTS[cut].cut(structure, host, host_name, settings.n_images, bulk_hop)
    return Response(replace=HopBarriersMaker(name=host_name, barrier_maker=barrier_maker).make(hops))


def host_barriers_job(
    structure: Structure,
    cut: str,
    host_name: str,
    barrier_maker: BaseMigrationBarrierMaker,
    bulk_hop: VacancyHopSites | None = None,
) -> Job:
    """:func:`barriers_in_relaxed_host` as a job that says how many jobs it will have run."""
    relax_and_cut = barriers_in_relaxed_host(structure, cut, host_name, barrier_maker, bulk_hop)
    # itself, its hops' jobs, and the job jobflow adds to hand the replacing flow's output on
    relax_and_cut.metadata[EXPECTED_JOBS] = 2 + JOBS_PER_HOP * HOP_CUTS[cut].hops
    return relax_and_cut


def host_flow(relax_and_cut: Job) -> Flow:
    """A :func:`host_barriers_job` as a flow of its own (to run beside others), named by its host."""
    return Flow([relax_and_cut], output=relax_and_cut.output, name=relax_and_cut.function_args[2])
