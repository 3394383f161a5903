"""The warm-started CI-NEB as one job on an expensive engine whose end points were relaxed by
other jobs: the band converged on CHGNet, finished by the Δ-corrected rounds
(:func:`~ionflow.workflows.warm_start.warm_started_band`), the end points' expensive energies
and forces taken as known (no call spent on them).

This is the VASP flow's band job with ``warm_start`` (VASP single points in one batch job,
:mod:`ionflow.workflows.vasp_calculator`); the tests run the same function with GPAW standing
in for VASP. With ``$IONFLOW_CHECKPOINTS`` set (batch jobs set it), each expensive call is
kept as it finishes (:mod:`ionflow.workflows.measurements`): a killed job, rerun, reads back
the calls it had made and goes on.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from ionflow.analysis.emmet_docs import neb_result
from ionflow.analysis.schemas import ONE_MINIMUM, MigrationBarrierDoc, Provenance
from ionflow.inputs.hops import interpolate_idpp
from ionflow.workflows.base import current_job_uuid
from ionflow.workflows.checkpoint import NebCheckpoint
from ionflow.workflows.engines import WARM_START_POTENTIAL
from ionflow.workflows.migration import relaxed_hop_length
from ionflow.workflows.settings import NebSettings
from ionflow.workflows.warm_start import warm_started_band

LOG = logging.getLogger(__name__)


def corrected_rounds(
    end_points: dict[str, Any],
    hop: dict,
    engine: str,
    engine_kwargs: dict[str, Any],
    n_images: int,
    fmax: float,
    label: str,
    settings: dict[str, Any],
) -> MigrationBarrierDoc:
    """The hop's barrier on ``engine`` (a name in ``NEB_ENGINES``, made with ``engine_kwargs``),
    warm-started between relaxed end points.

    ``end_points``: ``initial``, ``final`` (structures), ``energies``, ``forces`` (the engine's
    at the relaxed end points), ``converged``, ``force_calls``, ``wall_time_s`` (of their
    relaxations). ``label``: the document's engine (``vasp``); ``settings``: its settings.
    """
    start = time.perf_counter()
    separation = relaxed_hop_length(end_points["initial"], end_points["final"], hop["moving_index"])
    fields: dict[str, Any] = {
        "relaxed_hop_length": separation,
        "settings": settings,
        "provenance": Provenance(job_uuid=current_job_uuid()),
    }
    if separation < ONE_MINIMUM:  # both relaxed into one minimum: no hop, no band
        return MigrationBarrierDoc.from_hop(
            end_points["energies"],
            hop,
            converged=False,
            engine=label,
            force_calls=end_points["force_calls"],
            wall_time_s=end_points["wall_time_s"],
            **fields,
        )
    images = interpolate_idpp(end_points["initial"], end_points["final"], n_images)
    key = {"engine": engine, "engine_kwargs": engine_kwargs, "fmax": fmax, "cheap": WARM_START_POTENTIAL}
    _, band = warm_started_band(
        images,
        WARM_START_POTENTIAL,
        engine,
        fmax,
        NebSettings().steps,
        expensive_kwargs=engine_kwargs,
        known_ends=tuple(
            (float(e), np.asarray(f, dtype=float))
            for e, f in zip(end_points["energies"], end_points["forces"], strict=True)
        ),
        checkpoint=NebCheckpoint.for_band(images, key),
    )
    for note in band.notes:
        LOG.info("%s %s: %s", hop["host"], hop["hop_id"], note)
    engine_label = f"{label} (warm start: {WARM_START_POTENTIAL}, {band.start})"
    converged = bool(end_points["converged"]) and band.converged
    tags = [hop["host"], hop["species"], hop["hop_id"], engine_label, hop["location"]]
    return MigrationBarrierDoc.from_hop(
        band.energies,
        hop,
        converged=converged,
        engine=engine_label,
        force_calls=end_points["force_calls"] + band.force_calls,
        wall_time_s=end_points["wall_time_s"] + time.perf_counter() - start,
        force_calls_before_resume=band.force_calls_before_resume,
        band=neb_result(band.energies, converged, tags, images=band.images).model_dump(),
        **fields,
    )
