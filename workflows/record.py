"""Recording results from flows that run elsewhere (FireWorks on a cluster, batch jobs).

``ionflow run`` stores results itself when each flow returns; a submitted flow cannot, so
:func:`with_result_recording` adds one small ``record_results`` job after every flow that
outputs a result document. One per result, not one at the end: a hop that fails does not
keep the other hops' finished barriers out of the results store.
"""

from __future__ import annotations

from typing import Any

from jobflow import Flow, OutputReference, job
from pydantic import BaseModel

from ionflow.analysis.schemas import InterfaceChargeTransferDoc, MigrationBarrierDoc
from ionflow.analysis.store import results_store, save_results

RESULT_TYPES = (MigrationBarrierDoc, InterfaceChargeTransferDoc)


def _as_result(item: Any) -> BaseModel | None:
    """A result document from a job output (an object, or its serialized dict)."""
    if isinstance(item, RESULT_TYPES):
        return item
    if isinstance(item, dict):
        by_name = {t.__name__: t for t in RESULT_TYPES}
        kind = by_name.get(str(item.get("@class")))
        if kind is not None:
            return kind.model_validate({k: v for k, v in item.items() if not k.startswith("@")})
    return None


@job
def record_results(outputs: Any, results: str, flow_uuid: str | None = None) -> int:
    """Upsert the result documents among ``outputs`` into the results store ``results``."""

    items = outputs if isinstance(outputs, list) else [outputs]
    docs = [doc for doc in map(_as_result, items) if doc is not None]
    for doc in docs:
        doc.provenance.flow_uuid = doc.provenance.flow_uuid or flow_uuid
    return save_results(results_store(results), docs)


def with_result_recording(flow: Flow, results: str, flow_uuid: str | None = None) -> Flow:
    """Add a ``record_results`` job to every sub-flow of ``flow`` whose output is one result."""
    flow_uuid = flow_uuid or flow.uuid
    if isinstance(flow.output, OutputReference):
        recorder = record_results(flow.output, results, flow_uuid)
        recorder.name = "record results"
        flow.add_jobs(recorder)
        return flow
    for item in flow.jobs:
        if isinstance(item, Flow):
            with_result_recording(item, results, flow_uuid)
    return flow
