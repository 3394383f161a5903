"""The ``ionflow`` program as a user runs it: a separate process, its exit code and its lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from ionflow.hpc.cli import main; main()"]


def ionflow(*args: str, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``ionflow ARGS`` and capture its output."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout)


def one_line_error(run: subprocess.CompletedProcess) -> str:
    """The single line a refused command printed (exit code 2, no traceback)."""
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert run.returncode == 2 and len(lines) == 1 and "Traceback" not in run.stderr, run.stdout + run.stderr
    return lines[0]
