"""How long `ionflow status` takes on a LaunchPad with thousands of jobs (run on demand).

    python benchmarks/status_many_jobs.py [N_WORKFLOWS]

Fills a file LaunchPad (FireWorks' mongomock persistence, as in the `local-slurm` profile)
with N three-job workflows shaped like a migration-barrier flow, completes a third of the
jobs through FireWorks' own launch records, and times the status rows (one LaunchPad read,
no per-job queries) and the table rendering. No scheduler is needed: nothing is RESERVED.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from fireworks import Firework, FWAction, FWorker, ScriptTask, Workflow
from rich.console import Console
from rich.table import Table

from ionflow.hpc.launchpad import launchpad_session
from ionflow.hpc.monitor import job_rows
from ionflow.hpc.profiles import ClusterProfile


def main(n_workflows: int = 1000) -> None:
    folder = Path(tempfile.mkdtemp(prefix="ionflow-status-bench-"))
    profile = ClusterProfile(
        name="bench",
        scheduler="slurm",
        account="x",
        partition="debug",
        walltime="00:10:00",
        launchpad=f"file:{folder}/launchpad.json",
        results=str(folder / "results.json"),
        work_dir=str(folder / "runs"),
    )
    t0 = time.perf_counter()
    with launchpad_session(profile) as lp:
        wfs = []
        for i in range(n_workflows):
            relax = Firework(ScriptTask.from_str("true"), name=f"relax end points hop{i}")
            neb = Firework(ScriptTask.from_str("true"), name=f"CI-NEB hop{i}", parents=[relax])
            record = Firework(ScriptTask.from_str("true"), name="record results", parents=[neb])
            wfs.append(Workflow([relax, neb, record], name=f"barriers hop{i}"))
        lp.bulk_add_wfs(wfs)
        for _ in range(n_workflows // 3):  # finish some relaxations through FireWorks' records
            _fw, launch_id = lp.checkout_fw(FWorker(), str(folder))
            lp.complete_launch(launch_id, action=FWAction(), state="COMPLETED")
    fill = time.perf_counter() - t0
    size = (folder / "launchpad.json").stat().st_size / 1e6
    timings = []
    for _ in range(3):
        t0 = time.perf_counter()
        rows = job_rows(profile)
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    table = Table()
    for col in ("wf", "job", "name", "state"):
        table.add_column(col)
    for r in rows:
        table.add_row(str(r["wf_id"]), str(r["fw_id"]), r["job"], r["state"])
    Console(file=open("/dev/null", "w"), width=120).print(table)  # noqa: SIM115
    render = time.perf_counter() - t0
    states: dict[str, int] = {}
    for r in rows:
        states[r["state"]] = states.get(r["state"], 0) + 1
    print(
        f"jobs: {len(rows)} in {n_workflows} workflows; LaunchPad file {size:.1f} MB (filled in {fill:.1f} s)"
    )
    print(f"states: {states}")
    print(
        f"status rows: best {min(timings):.2f} s of 3 (mean {sum(timings) / 3:.2f} s); "
        f"table render {render:.2f} s"
    )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
