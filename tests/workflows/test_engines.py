"""The engine registry, the engine-agnostic base Makers and the typed settings.

Every registered engine's Makers are subclasses of the two base Makers, so the flows have one
shape whatever the engine; settings come from the presets and reject what they do not know.
"""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ionflow.inputs.conductor import load_host
from ionflow.inputs.hops import find_hops
from ionflow.inputs.presets import load_preset
from ionflow.workflows.base import BaseChargeTransferMaker, BaseMigrationBarrierMaker
from ionflow.workflows.engines import ENGINES
from ionflow.workflows.settings import ChargeTransferSettings, NebSettings
from ionflow.workflows.specs import FlowSpec


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engine_makes_its_studies_from_the_base_makers(name):
    barrier = ENGINES[name].barrier_maker(FlowSpec(flow="barriers", structure="Li6PS5Cl", engine=name))
    assert isinstance(barrier, BaseMigrationBarrierMaker)
    make_charges = ENGINES[name].charge_maker
    if make_charges is None:  # a barriers-only engine (GPAW as the NEB engine)
        assert name == "gpaw"
    else:
        charges = make_charges(FlowSpec(flow="charges", structure="x.json", engine=name))
        assert isinstance(charges, BaseChargeTransferMaker)


@pytest.mark.parametrize("name", sorted(ENGINES))
def test_every_engines_barrier_flow_ends_in_the_barrier_job_named_alike(name):
    host = load_host("Li6PS5Cl")
    hop = find_hops(host, "Li", host_name="Li6PS5Cl", n_images=3, min_length=7.0, min_atoms=1, max_hops=1)[0]
    maker = ENGINES[name].barrier_maker(
        FlowSpec(flow="barriers", structure="Li6PS5Cl", engine=name, images=3)
    )
    flow = maker.make(hop)
    assert flow.name == f"{maker.name} Li6PS5Cl {hop.hop_id}"
    assert flow.output.uuid == flow.jobs[-1].uuid  # the document is the last job's output
    assert flow.jobs[0].name.startswith("relax ")


def test_settings_take_their_defaults_from_the_preset():
    preset = load_preset("embedded")
    neb = NebSettings()
    assert neb.fmax == preset["neb"]["fmax"] and neb.model == preset["forcefield"]["model"]
    assert neb.end_point_optimizer == preset["neb"]["end_point_optimizer"]
    charges = ChargeTransferSettings()
    assert charges.dispersion == preset["interface_relax"]["dispersion"]
    assert charges.dft.h == preset["dft"]["h"] and charges.bader.method == preset["bader"]["method"]
    # a partial override keeps the preset's other values
    assert ChargeTransferSettings(dft={"h": 0.3}).dft.basis == preset["dft"]["basis"]
    # the spec's and the CLI's defaults are the same numbers
    spec = FlowSpec(flow="barriers", structure="Li6PS5Cl")
    assert (spec.images, spec.fmax, spec.model) == (neb.n_images, neb.fmax, neb.model)


@pytest.mark.parametrize(
    ("settings", "data"),
    [
        (NebSettings, {"fmxa": 0.05}),
        (NebSettings, {"fmax": -1}),
        (ChargeTransferSettings, {"dft": {"hh": 1}}),
    ],
)
def test_settings_refuse_unknown_or_impossible_values(settings, data):
    with pytest.raises(ValidationError):
        settings(**data)


def test_vasp_makers_take_their_defaults_from_the_vasp_preset():
    from ionflow.workflows.settings import VaspFlowSettings
    from ionflow.workflows.vasp import VaspChargeTransferMaker, VaspMigrationBarrierMaker

    flow = load_preset("vasp")["flow"]
    assert VaspFlowSettings().model_dump() == flow
    assert VaspMigrationBarrierMaker().n_images == flow["n_images"]
    assert VaspChargeTransferMaker().fix_bottom == flow["fix_bottom"]
