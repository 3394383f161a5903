import json

import pytest

from tests.cli import ionflow


def test_interface_help():
    result = ionflow("build", "interface", "--help")
    assert result.returncode == 0
    assert "--max-strain" in result.stdout and "Example" in result.stdout


def test_build_interface_writes_structures_and_summary(tmp_path):
    out = tmp_path / "iface"
    result = ionflow("build", "interface", "graphene", "--termination", "Li2OH", "--out", str(out))
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["termination"] == "Li2OH"
    assert summary["strain"]["max_abs_principal"] <= 0.05
    assert summary["region_counts"]["carbon"] == len(summary["region_indices"]["carbon"]) > 0
    for ext in ("cif", "vasp", "extxyz", "json"):
        assert (out / f"interface.{ext}").stat().st_size > 0


def test_build_hops_from_built_conductor(tmp_path):
    assert (
        ionflow(
            "build",
            "conductor",
            "--n-cu",
            "1",
            "--rank-by",
            "ewald",
            "--keep",
            "1",
            "--out",
            str(tmp_path / "c"),
        ).returncode
        == 0
    )
    result = ionflow(
        "build",
        "hops",
        str(tmp_path / "c" / "conductor_0.json"),
        "--species",
        "Cu",
        "--images",
        "3",
        "--min-length",
        "9",
        "--out",
        str(tmp_path / "h"),
    )
    assert result.returncode == 0, result.stderr
    hops = json.loads((tmp_path / "h" / "summary.json").read_text())["hops"]
    assert hops[0]["species"] == "Cu" and hops[0]["n_images"] == 5
    assert (tmp_path / "h" / "Cu-hop0" / "00.vasp").exists()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["build", "ap", "--x-br", "0.3"], "--x-br"),
        (["build", "conductor", "--host", "nope.cif"], "nope.cif"),
        (["build", "hops", "missing.cif"], "missing.cif"),
        (["build", "interface", "--max-strain", "0.001", "--max-area", "30"], "--max-strain"),
    ],
)
def test_bad_input_one_line_error_nothing_written(tmp_path, args, names):
    out = tmp_path / "out"
    result = ionflow(*args, "--out", str(out), cwd=tmp_path)
    assert result.returncode != 0
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and names in lines[0] and "fix:" in lines[0]
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp leftovers


def test_existing_results_are_not_overwritten(tmp_path):
    out = tmp_path / "cnt"
    assert ionflow("build", "carbon", "cnt", "--out", str(out)).returncode == 0
    before = (out / "cnt.cif").read_text()
    result = ionflow("build", "carbon", "cnt", "--chirality", "8,0", "--out", str(out))
    assert result.returncode != 0 and "already exists" in result.stderr
    assert (out / "cnt.cif").read_text() == before
