import pytest

from ionflow.inputs.errors import InputError
from ionflow.inputs.presets import load_preset, merged_settings, preset_names


def test_bundled_presets_carry_the_literature_settings():
    assert {"vasp", "embedded"} <= set(preset_names())
    static = merged_settings("vasp", ["common", "static_charge", "interface"])
    assert static["ENCUT"] == 520 and static["LAECHG"] is True and static["LVHAR"] is True
    assert static["IVDW"] == 11 and static["NSW"] == 0
    neb = merged_settings("vasp", ["common", "neb"], {"SPRING": -4})
    assert neb["LCLIMB"] is True and neb["EDIFFG"] == pytest.approx(-0.05) and neb["SPRING"] == -4
    assert load_preset("embedded")["neb"]["fmax"] == pytest.approx(0.05)


def test_unknown_preset_and_section():
    with pytest.raises(InputError, match="--preset"):
        load_preset("castep")
    with pytest.raises(InputError, match="no section"):
        merged_settings("vasp", ["phonons"])
