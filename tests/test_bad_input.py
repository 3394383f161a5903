"""Bad input found on first contact: each is one line naming the input and the fix, exit code 2,
and nothing created or stored (issue: the cluster path on first contact, item 6)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from pymatgen.core import Lattice, Structure

from tests.analysis.test_vasp_neb import BAND, make_band
from tests.cli import ionflow


def one_line_error(proc: subprocess.CompletedProcess, *words: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "fix:" in lines[0]
    for word in words:
        assert word in lines[0], lines[0]


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def test_parse_neb_of_a_missing_folder(tmp_path):
    proc = ionflow(
        "parse", "neb", "no-such-run", "--host", "X", "--species", "Li", "--hop-id", "h", cwd=tmp_path
    )
    one_line_error(proc, "no-such-run", "not a folder")
    assert files_under(tmp_path) == set()


@pytest.mark.parametrize("shorter", ["00", "last"])
def test_neb_end_points_with_different_atoms_store_nothing(tmp_path, shorter):
    root = make_band(tmp_path / "neb", BAND)
    folders = sorted(p for p in root.iterdir() if p.is_dir())
    si = Structure(Lattice.cubic(5.43), ["Si", "Si"], [[0, 0, 0], [0.25, 0.25, 0.25]])
    for folder in (folders[0], folders[-1]):
        si.to(filename=str(folder / "POSCAR"), fmt="poscar")
    cut = folders[0] if shorter == "00" else folders[-1]
    Structure(si.lattice, ["Si"], [[0, 0, 0]]).to(filename=str(cut / "POSCAR"), fmt="poscar")
    for length in ([], ["--length", "2.35"]):  # measured from the POSCARs, or given
        proc = ionflow(
            "parse", "neb", str(root), "--host", "Si", "--species", "Si", "--hop-id", "t",
            "--results", "r.json", *length, cwd=tmp_path,
        )  # fmt: skip
        one_line_error(proc, "POSCAR", "hold 2 and 1 atoms" if shorter == "last" else "hold 1 and 2 atoms")
        assert not (tmp_path / "r.json").exists()


def test_host_with_overlapping_atoms(tmp_path):
    host = Structure(
        Lattice.cubic(3.91),
        ["O", "Cl", "Li", "Li", "Li", "Cl"],
        [[0.5, 0.5, 0.5], [0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5], [0.01, 0, 0]],
    )
    host.to(filename=str(tmp_path / "overlap.cif"))
    before = files_under(tmp_path)
    proc = ionflow("run", "barriers", "overlap.cif", "--species", "Li", "--results", "r.json", cwd=tmp_path)
    one_line_error(proc, "overlap.cif", "Å apart")
    assert files_under(tmp_path) == before


def test_results_file_that_is_json_but_not_results(tmp_path):
    (tmp_path / "launchpad.json").write_text(json.dumps({"ionflow": {"fireworks": {}}}))
    proc = ionflow("barriers", "--results", "launchpad.json", cwd=tmp_path)
    one_line_error(proc, "launchpad.json", "not an ionflow results file")


def test_mistyped_results_path_creates_nothing(tmp_path):
    proc = ionflow("barriers", "--results", "typo/results.json", cwd=tmp_path)
    one_line_error(proc, "typo/results.json", "no such results file")
    assert files_under(tmp_path) == set()


def test_unreachable_mongodb_results_store(tmp_path):
    """Nothing listens on port 1: pymongo's own client gives up after the 5 s ionflow allows."""
    proc = ionflow(
        "barriers", "--results", "mongodb://ionflow:pw-not-shown@127.0.0.1:1/results", cwd=tmp_path
    )
    one_line_error(proc, "127.0.0.1:1", "cannot be reached")
    assert "pw-not-shown" not in proc.stderr + proc.stdout


def test_unreachable_mongodb_launchpad(tmp_path):
    profile = tmp_path / "cluster.yaml"
    profile.write_text(
        "scheduler: slurm\naccount: a\npartition: p\nwalltime: '01:00:00'\n"
        "launchpad: mongodb://fw:pw-not-shown@127.0.0.1:1/fireworks\nresults: r.json\n"
        f"work_dir: {tmp_path}/runs\n"
    )
    proc = ionflow("status", "--cluster", str(profile), cwd=tmp_path)
    one_line_error(proc, "127.0.0.1:1", "cannot be used")
    assert "pw-not-shown" not in proc.stderr + proc.stdout
    assert files_under(tmp_path) == {profile}
