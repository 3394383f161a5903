"""Four independent hops through the local SLURM on a file LaunchPad: before and now, side by side.

Before (main 459e436): every batch job held the LaunchPad file's lock for its whole run
(``flock LAUNCHPAD.lock rlaunch ...``), and so did every command that changed the LaunchPad
while a job ran. Now: the lock is held around each LaunchPad read or write (milliseconds).
"Before" is reproduced with today's code by running each batch job's Python, and each
mutating command, under one extra ``flock`` held for its whole run, which is what the old
batch script did; "now" runs the same commands without it. Everything else is the same: the
same four hops (vacancy hops in fcc Cu and Ag on EMT, 3 and 5 images; three jobs each), the
same profile, the same 2-CPU SLURM node.

Run: ``python benchmarks/cluster_throughput.py`` (needs ``.ci/slurm-local-up``; ~5 min).
Prints a table: wall time from the first submit until all 12 jobs are COMPLETED, and the
longest an ``ionflow launch`` (a mutating command) issued every few seconds had to wait.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from tests.hpc.cluster import write_hop_spec

HOPS = (("Cu", 3), ("Ag", 3), ("Cu", 5), ("Ag", 5))
CLI = [sys.executable, "-c", "from ionflow.hpc.cli import main; main()"]


def _python_wrapper(folder: Path, job_lock: Path | None) -> Path:
    """A ``python`` for the batch jobs: this one, under ``flock job_lock`` when given."""
    bin_dir = folder / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "python"
    prefix = f"flock {job_lock} " if job_lock else ""
    wrapper.write_text(f'#!/bin/sh\nexec {prefix}{sys.executable} "$@"\n')
    wrapper.chmod(0o755)
    return bin_dir


def run(mode: str, console: Console) -> dict:
    """Submit the four hops in ``mode`` (before/now) and wait for them; the measurements."""
    folder = Path(tempfile.mkdtemp(prefix=f"ionflow-bench-{mode}-"))
    job_lock = folder / "whole-job.lock" if mode == "before" else None
    bin_dir = _python_wrapper(folder, job_lock)
    profile = folder / "local.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: local\npartition: debug\nwalltime: '00:30:00'\n"
        f"pre_run: ['export PATH={bin_dir}:$PATH']\n"
        f"launchpad: file:{folder}/launchpad.json\nresults: {folder}/results.json\nwork_dir: {folder}/runs\n"
    )
    mutate = (["flock", str(job_lock)] if job_lock else []) + CLI
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    specs = [write_hop_spec(folder, metal, images) for metal, images in HOPS]
    start = time.perf_counter()
    for spec in specs:
        subprocess.run(
            [*mutate, "submit", str(spec), "-c", str(profile)], check=True, env=env, capture_output=True
        )
    waits: list[float] = []
    while True:
        t0 = time.perf_counter()
        subprocess.run(
            [*mutate, "launch", "-c", str(profile), "--quiet"], check=True, env=env, capture_output=True
        )
        waits.append(time.perf_counter() - t0)
        rows = json.loads(
            subprocess.run(
                [*CLI, "status", "-c", str(profile), "--json"],
                check=True,
                env=env,
                capture_output=True,
                text=True,
            ).stdout
        )
        done = sum(r["state"] == "COMPLETED" for r in rows)
        console.print(f"{mode}: {done}/{len(rows)} jobs completed after {time.perf_counter() - start:.0f} s")
        if rows and done == len(rows):
            break
        if any(r["state"] in ("FIZZLED", "LOST") for r in rows):
            raise SystemExit(f"{mode}: a job failed; see {folder}")
        time.sleep(2)
    wall = time.perf_counter() - start
    shutil.rmtree(folder, ignore_errors=True)
    # a launch also starts Python and reads the LaunchPad (about 3 s here): the lock's share
    # is the excess over the fastest one
    return {"jobs": len(rows), "wall_s": wall, "launch_max_s": max(waits), "launch_min_s": min(waits)}


def main() -> None:
    console = Console()
    if shutil.which("sbatch") is None or shutil.which("flock") is None:
        raise SystemExit("needs the local SLURM (.ci/slurm-local-up) and flock")
    results = {mode: run(mode, console) for mode in ("before", "now")}
    table = Table(title="Four independent hops on the local SLURM (2 CPUs), file LaunchPad")
    for col in ("LaunchPad lock held", "jobs", "wall to all COMPLETED (s)", "`ionflow launch` min / max (s)"):
        table.add_column(col)
    labels = {"before": "for each whole job (main 459e436)", "now": "around each read/write"}
    for mode, r in results.items():
        table.add_row(
            labels[mode],
            str(r["jobs"]),
            f"{r['wall_s']:.0f}",
            f"{r['launch_min_s']:.1f} / {r['launch_max_s']:.1f}",
        )
    console.print(table)
    console.print(f"speed-up: {results['before']['wall_s'] / results['now']['wall_s']:.2f}x")


if __name__ == "__main__":
    main()
