"""Real VASP files, damaged: every reader ends in the right result or in one InputError line.

Each real file the tests read (pymatgen-test-files, see test_vasp_real_outputs.py, and the
recorded OUTCARs and Henkelman ACF.dat in tests/analysis/data) is cut at many offsets, plain
and gzipped, and has bytes overwritten with garbage at many offsets. Every case must either
give the undamaged file's result (the damage fell where the reader does not look, e.g. after
the data it needs) or raise one :class:`InputError` naming the file, on one line; never
another exception, a hang (pytest-timeout) or, through the CLI, another exit code.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pymatgen.core import Lattice, Structure

from ionflow.analysis.bader import bader_from_vasp, read_acf
from ionflow.analysis.neb import hop_length_from_poscars, read_outcar_energy, read_vasp_neb
from ionflow.analysis.potential import PotentialGrid, potential_summary, read_locpot
from ionflow.analysis.vasp_files import run_cost, zval_from_potcar
from ionflow.inputs.errors import InputError
from tests.cli import ionflow, one_line_error

FILES = Path("/usr/share/doc/pymatgen-test-files/examples/test_files")
if not FILES.is_dir():
    if os.environ.get("CI"):
        pytest.fail("pymatgen-test-files is not installed: .ci/run must install it", pytrace=False)
    pytest.skip("real VASP outputs: apt-get install pymatgen-test-files", allow_module_level=True)

DATA = Path(__file__).parent / "data"
NEB = FILES / "neb_analysis" / "neb1" / "neb"
CUTS = (0.0, 0.01, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999)
"""Fractions of a file's length where it is cut."""
GARBAGE = b"\x00\xff#*x!\n\x13"
pytestmark = pytest.mark.timeout(600)


def raw(path: Path) -> bytes:
    """The file's bytes, uncompressed."""
    return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()


def damaged(data: bytes) -> list[tuple[str, bytes]]:
    """Cut copies and copies with garbage written over bytes, each with a name."""
    out = [(f"cut at {f:.3f}", data[: int(f * len(data))]) for f in CUTS]
    for f in (0.002, 0.05, 0.25, 0.5, 0.75, 0.98):
        at = int(f * len(data))
        out.append((f"garbage at {f:.3f}", data[:at] + GARBAGE + data[at + len(GARBAGE) :]))
    return out


def written(folder: Path, name: str, data: bytes, gz: bool) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{name}.gz" if gz else name)
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def check(
    read: Callable[[Path], object],
    path: Path,
    expected,
    same: Callable[[object, object], bool],
    label: str = "",
) -> str:
    """``read(path)`` equals ``expected``, or raises one InputError line naming ``path``."""
    try:
        got = read(path)
    except InputError as exc:
        message = str(exc)
        assert "\n" not in message, message
        assert path.name.removesuffix(".gz") in message, message
        return "error"
    assert same(got, expected), f"{path.name} ({label}): a damaged file gave a different result"
    return "same"


def cases(source: Path, name: str, tmp_path: Path, read, same) -> list[str]:
    expected = read(source)
    outcomes = []
    for k, (label, data) in enumerate(damaged(raw(source))):
        for gz in (False, True):
            folder = tmp_path / f"{k}-{int(gz)}"
            path = written(folder, name, data, gz)
            outcomes.append(check(read, path, expected, same, f"{source.name} {label}"))
            shutil.rmtree(folder)
    return outcomes


def damaged_outcar_cases(source: Path, tmp_path: Path) -> None:
    # a cut OUTCAR that still holds energies is an unfinished run, and says so
    outcomes = cases(source, "OUTCAR", tmp_path, read_outcar_energy, lambda a, b: a == b or not a[1])
    assert "error" in outcomes  # the cuts near the start cannot give an energy
    cases(source, "OUTCAR", tmp_path, run_cost, lambda a, b: a.ionic_steps <= b.ionic_steps)


def test_damaged_outcars(tmp_path):
    for source in sorted((DATA / "vasp_outcars").glob("OUTCAR.*.gz")):
        if source.name == "OUTCAR.crashed.gz":
            continue  # no energy even undamaged: its own test says so
        damaged_outcar_cases(source, tmp_path)


@pytest.mark.slow  # ~45 s: 56 reads of an 8.6 MB OUTCAR; the NEB folder test below damages it too
def test_damaged_neb_image_outcar(tmp_path):
    damaged_outcar_cases(NEB / "02" / "OUTCAR", tmp_path)


def test_damaged_image_outcar_in_a_neb_folder(tmp_path):
    """The saddle image's OUTCAR damaged: the band is the undamaged one, or is flagged as not
    converged (an image cut short), or the one-line error."""
    expected = read_vasp_neb(NEB)

    def same(got, want) -> bool:
        return got.energies == want.energies or not got.converged

    # the OUTCAR reader itself meets every damage in test_damaged_outcars; here, the folder
    # reader on a few of them (each read parses all five OUTCARs)
    chosen = [d for d in damaged(raw(NEB / "02" / "OUTCAR")) if d[0] in ("cut at 0.500", "garbage at 0.500")]
    for k, (_, data) in enumerate(chosen):
        for gz in (False, True):
            band = tmp_path / f"neb{k}{int(gz)}"
            shutil.copytree(NEB, band)
            (band / "02" / "OUTCAR").unlink()
            path = written(band / "02", "OUTCAR", data, gz)
            check(lambda p, b=band: read_vasp_neb(b), path, expected, same)


def test_damaged_image_structures(tmp_path):
    expected = hop_length_from_poscars(NEB)
    for name, image in (("POSCAR", "00"), ("CONTCAR", "02")):
        for k, (_, data) in enumerate(damaged((NEB / image / name).read_bytes())):
            band = tmp_path / f"{name}{k}"
            shutil.copytree(NEB, band)
            path = band / image / name
            path.write_bytes(data)
            check(
                lambda p, b=band: hop_length_from_poscars(b),
                path,
                expected,
                lambda a, b: a == pytest.approx(b),
            )


def test_damaged_locpot(tmp_path):
    def values(path: Path) -> np.ndarray:
        return read_locpot(path).values

    outcomes = cases(FILES / "LOCPOT", "LOCPOT", tmp_path, values, lambda a, b: np.array_equal(a, b))
    assert outcomes.count("error") >= len(CUTS)


def test_damaged_chgcar(tmp_path):
    """The density Bader reads (Fe3O4, 96^3): cut or overwritten, the valence CHGCAR and an
    AECCAR each; a case that reads gives the undamaged charges."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("CHGCAR", "AECCAR0", "AECCAR2"):
        (source / f"{name}.gz").symlink_to(FILES / "bader" / f"{name}.gz")
    expected = bader_from_vasp(source)[1].electrons
    for damaged_name in ("CHGCAR", "AECCAR2"):
        data = raw(FILES / "bader" / f"{damaged_name}.gz")
        for k, (_, bad) in enumerate(damaged(data)[1::3]):
            folder = tmp_path / f"{damaged_name}{k}"
            folder.mkdir()
            for name in ("CHGCAR", "AECCAR0", "AECCAR2"):
                if name != damaged_name:
                    (folder / f"{name}.gz").symlink_to(FILES / "bader" / f"{name}.gz")
            path = written(folder, damaged_name, bad, gz=k % 2 == 1)
            check(
                lambda p, f=folder: bader_from_vasp(f)[1].electrons,
                path,
                expected,
                lambda a, b: np.allclose(a, b, atol=1e-6),
            )


def test_damaged_potcar_and_acf(tmp_path):
    potcar = FILES / "POT_GGA_PAW_PBE_52" / "POTCAR.O.gz"
    assert zval_from_potcar(potcar) == {"O": 6.0}
    outcomes = cases(potcar, "POTCAR", tmp_path, zval_from_potcar, lambda a, b: a == b)
    assert "error" in outcomes
    acf = DATA / "henkelman_bader" / "Fe3O4-ACF.dat"
    outcomes = cases(
        acf, "ACF.dat", tmp_path, lambda p: read_acf(p, 14).electrons, lambda a, b: np.array_equal(a, b)
    )
    assert "error" in outcomes


def test_truncated_potcar_is_one_line_not_a_key_error(tmp_path):
    text = raw(FILES / "POT_GGA_PAW_PBE_52" / "POTCAR.O.gz").decode()
    (tmp_path / "POTCAR").write_text(text[: text.index("TITEL") - 10])
    with pytest.raises(InputError, match="POTCAR"):
        zval_from_potcar(tmp_path / "POTCAR")


def test_locpot_whose_header_disagrees_with_its_data_is_refused(tmp_path):
    lines = (FILES / "LOCPOT").read_text().splitlines(keepends=True)
    grid_line = next(i for i, line in enumerate(lines) if line.split() == ["32", "32", "32"])
    lines[grid_line] = "  32  32  16\n"  # the data still hold 32^3 values
    (tmp_path / "LOCPOT").write_text("".join(lines))
    with pytest.raises(InputError, match="header"):
        read_locpot(tmp_path / "LOCPOT")


def test_reference_potential_from_another_cell_is_refused():
    """Same grid, another cell: the difference potential would be numbers of no meaning."""
    grid = read_locpot(FILES / "LOCPOT")
    lattice = grid.structure.lattice
    interface = Structure(lattice, ["Li", "C"], [[0, 0, 0.2], [0, 0, 0.6]])
    stretched = Lattice(lattice.matrix * 1.1)
    reference = PotentialGrid(Structure(stretched, ["Li"], [[0, 0, 0.2]]), grid.values, "other/LOCPOT")
    with pytest.raises(InputError, match=r"other/LOCPOT.*cell differs"):
        potential_summary(PotentialGrid(interface, grid.values, "LOCPOT"), ["AP", "carbon"], 1.0, [reference])


def test_cli_on_a_neb_with_an_outcar_gz_cut_in_half_is_one_line_exit_2(tmp_path):
    band = tmp_path / "neb"
    shutil.copytree(NEB, band)
    data = raw(NEB / "02" / "OUTCAR")
    (band / "02" / "OUTCAR").unlink()
    gz = gzip.compress(data)
    (band / "02" / "OUTCAR.gz").write_bytes(gz[: len(gz) // 2])
    results = tmp_path / "results.json"
    run = ionflow(
        "parse",
        "neb",
        str(band),
        "--host",
        "Fe31",
        "--species",
        "Fe",
        "--hop-id",
        "vac",
        "--results",
        str(results),
    )
    assert "OUTCAR.gz" in one_line_error(run)
    assert not results.exists()  # nothing stored
