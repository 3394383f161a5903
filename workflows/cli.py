"""``ionflow run``: flows run here, on the embedded engine (or VASP where it is installed), results stored."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from jobflow import Flow, JobStore
from maggma.core import Store
from maggma.stores import MemoryStore
from pydantic import ValidationError

from ionflow.analysis.barriers import barrier_frame, barrier_statements
from ionflow.analysis.charges import charge_frame
from ionflow.analysis.cli import (
    ARRHENIUS_TEMPERATURES,
    TRANSPORT_TEMPERATURES,
    CarrierFraction,
    MaxDistance,
    Results,
    Temperatures,
    console,
    print_frame,
    print_transport,
    transport_docs,
    transport_options,
)
from ionflow.analysis.diffusion import (
    ATTEMPT_FREQUENCY,
    CARRIER_FRACTION,
)
from ionflow.analysis.schemas import CompletedFlowRecord, Provenance, result_key
from ionflow.analysis.store import completed_flow, results_data_store, results_store, save_results
from ionflow.inputs.errors import InputError
from ionflow.inputs.presets import presets_fingerprint
from ionflow.workflows.checkpoint import CHECKPOINTS_ENV
from ionflow.workflows.engines import DEFAULT_ENGINE, engine_help
from ionflow.workflows.engines import engine as engine_named
from ionflow.workflows.host_hops import EXPECTED_JOBS
from ionflow.workflows.record import RESULT_TYPES
from ionflow.workflows.specs import (
    NEB,
    FlowSpec,
    build_flows,
    spec_fingerprint,
    spec_structures,
    study_cutoff,
)
from ionflow.workflows.workers import default_workers, run_side_by_side

SPEC = FlowSpec.model_fields
"""The flow spec's fields: ``ionflow run``'s defaults are the spec's."""

run_app = typer.Typer(
    help="Run flows here (embedded engine by default) and store the results.", no_args_is_help=True
)


EngineOption = Annotated[
    str,
    typer.Option("--engine", help=f"The engine ({engine_help()})."),
]
DftOption = Annotated[
    str,
    typer.Option(
        "--dft",
        help="--engine gpaw: GPAW settings over the preset's neb_dft, KEY=VALUE,... "
        "(e.g. mode=pw,ecut=300 for plane waves; h, kspacing, basis, xc, smearing).",
    ),
]


def dft_options(text: str) -> dict[str, Any]:
    """``--dft``'s KEY=VALUE pairs as a dict (values read as YAML scalars: 300 is a number)."""
    settings: dict[str, Any] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError("--dft", f"{pair!r} is not KEY=VALUE", "write e.g. --dft mode=pw,ecut=300")
        settings[key.strip()] = yaml.safe_load(value.strip())
    return settings


WorkDir = Annotated[Path, typer.Option(help="Folder for the jobs' own files (one sub-folder per job).")]
Recompute = Annotated[
    bool,
    typer.Option(help="Run every flow again, also those whose results an earlier run of it stored."),
]
Workers = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Flows run side by side in this many processes (default: one per core; GPAW here "
        "uses one core, CHGNet little more). 1 runs them one after another in this process.",
    ),
]


class JobProgress(logging.Handler):
    """Follows jobflow's "Starting job"/"Finished job" log records: a live bar on a terminal,
    one line per finished job otherwise (batch logs, pipes)."""

    def __init__(self, progress, task, total: int) -> None:
        super().__init__(logging.INFO)
        self.progress, self.task, self.total, self.done = progress, task, total, 0
        self.started = time.perf_counter()

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        name = message.split(" - ", 1)[-1].rsplit(" (", 1)[0]
        if message.startswith("Starting job"):
            self.progress.update(self.task, description=name)
        elif message.startswith("Finished job"):
            self.done += 1
            if self.done > self.total:  # a job replaced itself by a flow (hops cut in a relaxed host)
                self.total = self.done
                self.progress.update(self.task, total=self.total)
            self.progress.advance(self.task)
            if not console.is_terminal:
                elapsed = time.perf_counter() - self.started
                console.print(f"[{self.done}/{self.total}] {name} done ({elapsed:.0f} s)", highlight=False)


def run_flows(
    flows: list[tuple[str, Flow]],
    store: Store,
    work_dir: Path,
    run_key: str = "",
    recompute: bool = False,
    data: Store | None = None,
    workers: int = 1,
) -> tuple[int, int]:
    """Run each flow with ``jobflow.run_locally`` under ``work_dir``, showing progress per job;
    store each flow's results as soon as it finishes, with the record that it finished in the
    same write, so a later failure or kill loses nothing. A rerun skips every flow whose
    results are stored for the same inputs and settings (unless ``recompute``), and a NEB
    killed mid-band resumes from its checkpoint in ``work_dir/checkpoints``. The jobs' large
    outputs (NEB bands) go to ``data`` (jobflow's additional store ``data``), default in memory.
    ``workers`` > 1 runs that many flows side by side in worker processes
    (:mod:`ionflow.workflows.workers`). Returns the jobs run and the flows skipped."""
    work_dir.mkdir(parents=True, exist_ok=True)
    # NEB bands are checkpointed here: a rerun after a kill resumes a band where it stopped
    checkpoints = os.environ.get(CHECKPOINTS_ENV)
    os.environ[CHECKPOINTS_ENV] = str((work_dir / "checkpoints").resolve())
    try:
        return _run_flows(flows, store, work_dir, run_key, recompute, data, workers)
    finally:
        if checkpoints is None:
            os.environ.pop(CHECKPOINTS_ENV, None)
        else:
            os.environ[CHECKPOINTS_ENV] = checkpoints


def _run_flows(
    flows: list[tuple[str, Flow]],
    store: Store,
    work_dir: Path,
    run_key: str,
    recompute: bool,
    data: Store | None,
    workers: int,
) -> tuple[int, int]:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    presets = presets_fingerprint()  # a changed default changes what a flow computes
    todo, skipped = [], 0
    for label, flow in flows:
        key = result_key(run_key, presets, label)  # the flow's identity: run, presets, label
        if not recompute and completed_flow(store, key) is not None:
            console.print(f"== {label}: stored by an earlier run, skipped", highlight=False)
            skipped += 1
        else:
            todo.append((label, flow, key, expected_jobs(flow)))
    total = sum(jobs for *_, jobs in todo)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} jobs"),
        TimeElapsedColumn(),
    )
    job_logger = logging.getLogger("jobflow.core.job")
    with Progress(*columns, console=console) as progress:
        handler = JobProgress(progress, progress.add_task("starting", total=total), total)
        job_logger.addHandler(handler)
        level, propagate = job_logger.level, job_logger.propagate
        job_logger.setLevel(logging.INFO)
        job_logger.propagate = False  # the progress display is the only reader
        try:
            if workers > 1 and len(todo) > 1:
                ran = run_side_by_side(
                    run_flow, todo, store, work_dir, data, min(workers, len(todo)), handler
                )
            else:
                ran = sum(
                    run_flow(label, flow, key, jobs, store, work_dir, data) for label, flow, key, jobs in todo
                )
        finally:
            job_logger.removeHandler(handler)
            job_logger.setLevel(level)
            job_logger.propagate = propagate
    console.print(
        f"ran {ran} jobs in {len(todo)} flows; skipped {skipped} flows already stored"
        + (" (--recompute runs them again)" if skipped else ""),
        highlight=False,
    )
    return ran, skipped


def expected_jobs(flow: Flow) -> int:
    """The jobs ``flow`` will run: a job that will replace itself by a flow says how many."""
    return sum(job.metadata.get(EXPECTED_JOBS, 1) for job, _ in flow.iterflow())


def run_flow(
    label: str, flow: Flow, key: str, jobs: int, store: Store, work_dir: Path, data: Store | None
) -> int:
    """Run one flow with ``jobflow.run_locally`` and store its results together with the record
    that it finished, in one write (here or in a worker process); return the jobs it ran."""
    from jobflow import run_locally

    if not console.is_terminal:
        console.print(f"== {label}", highlight=False)
    responses = run_locally(
        flow,
        store=JobStore(
            MemoryStore(), additional_stores={"data": data if data is not None else MemoryStore()}
        ),
        create_folders=True,
        root_dir=work_dir,
        log=False,
        ensure_success=True,
    )
    docs = [
        r.output for resp in responses.values() for r in resp.values() if isinstance(r.output, RESULT_TYPES)
    ]
    for doc in docs:
        doc.provenance.flow_uuid = flow.uuid
    record = CompletedFlowRecord(
        flow_key=key,
        label=label,
        result_ids=[d.result_id for d in docs],
        jobs=jobs,
        provenance=Provenance(flow_uuid=flow.uuid),
    )
    save_results(store, [*docs, record])
    return sum(len(runs) for runs in responses.values())  # a replaced job ran twice under its uuid


def run_spec(
    results: str | None, work_dir: Path, recompute: bool, workers: int | None = None, **fields
) -> Store:
    """Run the flows of one ``ionflow run`` command here and return the results store; an
    engine that is unknown or cannot run here is one line before anything is built."""
    engine_named(fields.get("engine", DEFAULT_ENGINE))
    try:
        spec = FlowSpec(**fields)
    except ValidationError as exc:
        error = exc.errors()[0]
        option = "--" + str(error["loc"][0]).replace("_", "-") if error["loc"] else "options"
        problem = error["msg"].removeprefix("Value error, ")
        raise InputError(option, problem, "see `ionflow run COMMAND --help`") from None
    store = results_store(results)
    data = results_data_store(results)
    run_flows(
        build_flows(spec),
        store,
        work_dir,
        spec_fingerprint(spec),
        recompute,
        data,
        workers or default_workers(),
    )
    return store


@run_app.command("barriers")
def run_barriers(
    structure: Annotated[str, typer.Argument(help="Host: structure file (CIF/POSCAR/JSON) or bundled name.")],
    species: Annotated[str, typer.Option(help="Mobile species, comma-separated (Li,Cu).")] = "Li",
    sublattice: Annotated[
        str | None,
        typer.Option(help="Hop each species on this species' sites (a dilute Cu+ on the Li sites: Li)."),
    ] = None,
    max_hops: Annotated[int, typer.Option(help="Hops per species, shortest first.")] = SPEC[
        "max_hops"
    ].default,
    max_distance: MaxDistance = None,
    min_length: Annotated[float, typer.Option(help="Smallest NEB-cell edge (Å).")] = SPEC[
        "min_length"
    ].default,
    fmax: Annotated[float, typer.Option(help="CI-NEB force criterion (eV/Å).")] = NEB.fmax,
    images: Annotated[int, typer.Option(help="Images between the end points.")] = NEB.n_images,
    model: Annotated[
        str, typer.Option(help="Embedded engine's potential for the NEB: CHGNet or SevenNet.")
    ] = NEB.model,
    warm_start: Annotated[
        bool | None,
        typer.Option(
            "--warm-start/--no-warm-start",
            help="Warm-start the NEB from a CHGNet band (default: on with --model SevenNet, "
            "off with --engine gpaw or vasp and with CHGNet, which is the warm start itself).",
        ),
    ] = None,
    results: Results = None,
    work_dir: WorkDir = Path("ionflow-runs"),
    recompute: Recompute = False,
    workers: Workers = None,
    engine: EngineOption = DEFAULT_ENGINE,
    dft: DftOption = "",
) -> None:
    """CI-NEB barriers of the nearest-neighbour hops of each species on the embedded engine
    (--engine gpaw: on DFT, GPAW).

    Example: ionflow run barriers Li6PS5Cl --species Li --max-hops 1
    """

    store = run_spec(
        results,
        work_dir,
        recompute,
        workers,
        flow="barriers",
        structure=structure,
        species=species.split(","),
        sublattice=sublattice,
        max_hops=max_hops,
        max_distance=max_distance,
        min_length=min_length,
        images=images,
        fmax=fmax,
        model=model,
        warm_start=warm_start,
        engine=engine,
        dft=dft_options(dft),
    )
    name = Path(structure).stem
    frame = barrier_frame(store, host=name)
    print_frame(frame, "table", f"Migration barriers in {name}")
    for line in barrier_statements(frame):
        console.print(line)


@run_app.command("study")
def run_study(
    structure: Annotated[
        str, typer.Argument(help="Host: structure file (CIF/POSCAR/JSON) or bundled name.")
    ] = "Li6PS5Cl",
    species: Annotated[str, typer.Option(help="Mobile species, comma-separated.")] = "Li,Cu",
    sublattice: Annotated[
        str, typer.Option(help="The species whose sites form the network ('own': each species' own sites).")
    ] = "Li",
    max_distance: MaxDistance = None,
    temperatures: Temperatures = TRANSPORT_TEMPERATURES,
    carrier_fraction: CarrierFraction = CARRIER_FRACTION,
    out: Annotated[str, typer.Option("--out", "-o", help="Arrhenius plot (PNG) to write.")] = "arrhenius.png",
    min_length: Annotated[float, typer.Option(help="Smallest NEB-cell edge (Å).")] = SPEC[
        "min_length"
    ].default,
    fmax: Annotated[float, typer.Option(help="CI-NEB force criterion (eV/Å).")] = NEB.fmax,
    images: Annotated[int, typer.Option(help="Images between the end points.")] = NEB.n_images,
    model: Annotated[str, typer.Option(help="Embedded engine's potential for the NEB.")] = NEB.model,
    results: Results = None,
    work_dir: WorkDir = Path("ionflow-runs"),
    recompute: Recompute = False,
    workers: Workers = None,
    engine: EngineOption = DEFAULT_ENGINE,
    dft: DftOption = "",
) -> None:
    """Transport of each species through a host: CI-NEB of every hop up to the cutoff at which
    the network's sites join in 3D, then percolation barriers, D and σ and an Arrhenius PNG.

    By default Li+ and one dilute Cu+ on the Li network of Li6PS5Cl (Li6PS5Cl:Cu): dozens of
    hops per species, hours on a laptop; submit it to a cluster as a spec with `flow: study`.
    Example: ionflow run study CuAg3.cif --species Ag --sublattice Ag --model EMT
    """
    transport_options(temperatures, carrier_fraction, ATTEMPT_FREQUENCY)  # checked before any job runs
    sublattice = None if sublattice == "own" else sublattice
    fields = dict(structure=structure, species=species.split(","), sublattice=sublattice)
    spec = FlowSpec(flow="study", max_distance=max_distance, **fields)
    host, name = spec_structures(spec)[0], Path(structure).stem
    cutoffs = {sp: study_cutoff(spec, host, name, sp) for sp in spec.species}
    for sp, cutoff in cutoffs.items():
        where = f"the {spec.sublattice or sp} sites"
        console.print(f"{sp}: every hop on {where} up to {cutoff:.3f} Å" + ("" if max_distance else " (3D)"))
    store = run_spec(
        results,
        work_dir,
        recompute,
        workers,
        **fields,
        flow="study",
        max_distance=max_distance,
        min_length=min_length,
        images=images,
        fmax=fmax,
        model=model,
        engine=engine,
        dft=dft_options(dft),
    )
    print_frame(barrier_frame(store, host=name), "table", f"Migration barriers in {name}")
    docs = []
    for sp, cutoff in cutoffs.items():
        try:  # a network the computed hops do not connect is a result here, said in one line
            docs += transport_docs(
                structure,
                sp,
                name,
                cutoff,
                results,
                temperatures,
                carrier_fraction,
                ATTEMPT_FREQUENCY,
                sublattice,
                save=True,
            )
        except InputError as error:
            console.print(f"{sp}: no transport through the hops computed: {error}")
    if not docs:
        return
    print_transport(docs)
    plotted = [
        doc
        for sp, cutoff in cutoffs.items()
        if sp in {d.species for d in docs}
        for doc in transport_docs(
            structure,
            sp,
            name,
            cutoff,
            results,
            ARRHENIUS_TEMPERATURES,
            carrier_fraction,
            ATTEMPT_FREQUENCY,
            sublattice,
        )
    ]
    from ionflow.analysis.plots import (  # deferred: matplotlib, ~1 s
        plot_arrhenius,
    )

    console.print(f"wrote {plot_arrhenius(plotted, Path(out))}")


@run_app.command("charges")
def run_charges(
    interface: Annotated[
        str, typer.Argument(help="AP/carbon interface: pymatgen JSON from ionflow build interface.")
    ],
    name: Annotated[str | None, typer.Option(help="Name of the result (default: the file name).")] = None,
    relax: Annotated[bool, typer.Option(help="Relax the interface first (fixed cell, bottom fixed).")] = SPEC[
        "relax"
    ].default,
    references: Annotated[
        bool, typer.Option(help="Also compute the separated AP slab and carbon sheet.")
    ] = SPEC["references"].default,
    allow_polar: Annotated[
        bool, typer.Option(help="Compute a polar AP stack anyway; its row then says 'polar stack'.")
    ] = SPEC["allow_polar"].default,
    contacts: Annotated[
        bool,
        typer.Option(
            help="The contact scan: also with Br at the contact, a Li interstitial and a Li vacancy "
            "at the contact (one row each)."
        ),
    ] = SPEC["contacts"].default,
    results: Results = None,
    work_dir: WorkDir = Path("ionflow-runs"),
    recompute: Recompute = False,
    workers: Workers = None,
    engine: EngineOption = DEFAULT_ENGINE,
) -> None:
    """Charge transfer across an AP/carbon interface: Bader per region, potential step, built-in field.

    Example: ionflow run charges demo/iface/interface.json
    """

    label = name or Path(interface).stem
    store = run_spec(
        results,
        work_dir,
        recompute,
        workers,
        flow="charges",
        structure=interface,
        name=label,
        relax=relax,
        references=references,
        allow_polar=allow_polar,
        contacts=contacts,
        engine=engine,
    )
    print_frame(charge_frame(store, label), "table", f"Charge transfer: {label}")


@run_app.command("demo")
def run_demo(
    results: Results = None,
    work_dir: WorkDir = Path("ionflow-runs"),
    recompute: Recompute = False,
    workers: Workers = None,
    quick: Annotated[
        bool, typer.Option(help="Coarser DFT grid, 3 images everywhere, no contact scan (a smoke test).")
    ] = False,
    contacts: Annotated[
        bool,
        typer.Option(
            help="Scan every contact: the LiCl face as built; Br, a Li donor or a Li vacancy at "
            "the Li2OH face; the (5,0) nanotube's charge transfer as built (graphene vs CNT); "
            "each several minutes more."
        ),
    ] = False,
    donor: Annotated[
        bool,
        typer.Option(
            help="Add the contact scan's donor: a Li added at the graphene contact, its charge "
            "transfer and its Li hop (~8 min more on 2 cores)."
        ),
    ] = False,
    slab_check: Annotated[
        bool,
        typer.Option(
            help="Add the Li hops under graphene on a slab of two bulk cells, the slab-centre one "
            "the bulk hop's copy: the check before interface and bulk are compared (~20 min more)."
        ),
    ] = False,
) -> None:
    """The main job: AP/graphene charge transfer, Li+ at graphene and a nanotube vs bulk, Li+/Cu+.

    Builds the models, runs every flow on the embedded engine (CHGNet + GPAW), stores the
    results (default ./ionflow-results.json) and prints the charge-transfer and barrier tables.
    """
    from ionflow.workflows.demo import demo_flows  # deferred: engines (torch, CHGNet, GPAW), ~5 s

    store = results_store(results)
    data = results_data_store(results)
    with console.status("building the models (AP orderings, interfaces, Li6PS5Cl:Cu, hops)"):
        flows = demo_flows(quick=quick, donor=donor, contacts=contacts, slab_check=slab_check)
    spec = FlowSpec(flow="demo", quick=quick, donor=donor, contacts=contacts, slab_check=slab_check)
    run_flows(flows, store, work_dir, spec_fingerprint(spec), recompute, data, workers or default_workers())
    print_frame(
        charge_frame(store),
        "table",
        "Charge transfer across AP/carbon (Bader; e⁻ AP→C > 0: AP gave electrons)",
    )
    frame = barrier_frame(store)
    print_frame(frame, "table", "Migration barriers (CI-NEB)")
    for line in barrier_statements(frame):
        console.print(line)
