"""Cluster profiles: bundled examples, the user's own, and every kind of bad profile."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from ionflow.hpc.profiles import available_profiles, check_profile, load_profile
from ionflow.inputs.errors import InputError
from ionflow.inputs.locations import expand_secrets

GOOD = {
    "scheduler": "slurm",
    "account": "chem123",
    "partition": "cpu",
    "walltime": "02:00:00",
    "launchpad": "file:./lp.json",
    "results": "./results.json",
}


@pytest.fixture()
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("IONFLOW_CONFIG_DIR", str(tmp_path))
    (tmp_path / "clusters").mkdir()
    return tmp_path / "clusters"


def write(folder, name, data):
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_bundled_examples_are_valid():
    names = set(available_profiles())
    assert {"example-slurm", "example-pbs", "local-slurm"} <= names
    pbs = load_profile("example-pbs")
    assert pbs.scheduler == "pbs" and pbs.submit_command == "qsub" and pbs.nodes == 2
    assert load_profile("example-slurm").submit_command == "sbatch"


def test_user_profile_wins_over_a_bundled_one(config_dir):
    write(config_dir, "example-slurm", {**GOOD, "account": "mine"})
    assert load_profile("example-slurm").account == "mine"


@pytest.mark.parametrize(
    ("change", "field", "fix"),
    [
        ({"account": None}, "account", "account: <your allocation>"),
        ({"walltime": None}, "walltime", "HH:MM:SS"),
        ({"walltime": "2h"}, "walltime", "HH:MM:SS"),
        ({"scheduler": "lsf"}, "scheduler", "slurm"),
        ({"launchpad": "redis://x"}, "launchpad", "mongodb://"),
        ({"gpus": 4}, "gpus", "example profiles"),
    ],
)
def test_bad_profile_names_file_field_and_fix(config_dir, change, field, fix):
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    path = write(config_dir, "bad", data)
    with pytest.raises(InputError) as err:
        load_profile("bad")
    message = str(err.value)
    assert str(path) in message and repr(field) in message and fix in message


def test_unknown_profile_lists_the_known_ones(config_dir):
    with pytest.raises(InputError, match="example-slurm"):
        load_profile("no-such-cluster")


def test_check_reports_unreachable_database_and_missing_folder(config_dir, tmp_path):
    profile = load_profile(
        str(
            write(
                config_dir,
                "c",
                {**GOOD, "launchpad": "mongodb://127.0.0.1:1/fw", "results": str(tmp_path / "no" / "r.json")},
            )
        )
    )
    problems = "\n".join(check_profile(profile, timeout_s=0.5))
    assert "launchpad: MongoDB at 127.0.0.1:1 is not reachable" in problems
    assert "does not exist" in problems


def test_cluster_check_command_exit_codes(config_dir, tmp_path):
    path = write(
        config_dir,
        "ok",
        {**GOOD, "launchpad": f"file:{tmp_path}/lp.json", "results": str(tmp_path / "r.json")},
    )
    ok = subprocess.run(
        ["ionflow", "cluster", "check", str(path), "--offline"], capture_output=True, text=True
    )
    assert ok.returncode == 0 and "profile is valid" in ok.stdout
    bad = subprocess.run(["ionflow", "cluster", "check", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no cluster profile named 'nope'" in bad.stderr


def test_database_uri_from_the_environment(config_dir, monkeypatch):
    path = write(config_dir, "env", {**GOOD, "launchpad": "mongodb://${IONFLOW_TEST_DB}/fireworks"})
    monkeypatch.delenv("IONFLOW_TEST_DB", raising=False)
    with pytest.raises(
        InputError, match=r"field 'launchpad'.*IONFLOW_TEST_DB, which is not set.*fix: export"
    ):
        load_profile(str(path))
    monkeypatch.setenv("IONFLOW_TEST_DB", "fw:secret@db.example.org:27017")
    profile = load_profile(str(path))
    assert profile.launchpad == "mongodb://${IONFLOW_TEST_DB}/fireworks"  # the reference, not the secret
    assert expand_secrets(profile.launchpad) == "mongodb://fw:secret@db.example.org:27017/fireworks"


def test_submit_to_unreachable_database_adds_nothing(config_dir, tmp_path):
    """A profile whose LaunchPad cannot be reached: one line, exit 2, before anything is built."""
    import shutil
    import sys

    if shutil.which("sbatch") is None:
        pytest.skip("needs sbatch on PATH to reach the database check")
    write(config_dir, "down", {**GOOD, "launchpad": "mongodb://127.0.0.1:1/fw"})
    (tmp_path / "spec.yaml").write_text("flow: barriers\nstructure: Li6PS5Cl\n")
    cmd = [sys.executable, "-c", "from ionflow.hpc.cli import main; main()", "submit", "spec.yaml"]
    proc = subprocess.run(
        [*cmd, "--cluster", "down"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 2
    assert "MongoDB at 127.0.0.1:1 is not reachable" in proc.stderr and "fix:" in proc.stderr
    assert not (tmp_path / "ionflow-cluster").exists()
