"""Flow specs: the YAML that `ionflow submit` takes, its errors and its identity."""

from __future__ import annotations

import pytest

from ionflow.inputs.errors import InputError
from ionflow.workflows.specs import build_flows, load_spec, spec_fingerprint


def spec_file(folder, name, text):
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("flow: neb\n", r"field 'flow'.*fix: set `flow:` to one of barriers, charges, demo"),
        ("flow: barriers\n", r"field 'structure': is missing"),
        ("flow: barriers\nstructure: Li6PS5Cl\nimage: 3\n", r"field 'image'.*Extra inputs"),
        ("flow: barriers\nstructure: Li6PS5Cl\nimages: 0\n", r"field 'images'.*greater than or equal to 1"),
        ("flow: [barriers\n", r"is not valid YAML"),
        ("flow: study\nstructure: Li6PS5Cl\nmax_distance: -3\n", r"field 'max_distance'.*greater than 0"),
    ],
)
def test_bad_spec_names_file_and_field(tmp_path, text, match):
    path = spec_file(tmp_path, "bad.yaml", text)
    with pytest.raises(InputError, match=match) as err:
        load_spec(path)
    assert str(path) in str(err.value)


def test_same_settings_and_structure_are_one_submission(tmp_path):
    a = load_spec(spec_file(tmp_path, "a.yaml", "flow: barriers\nstructure: Li6PS5Cl\nspecies: Li,Cu\n"))
    b = load_spec(spec_file(tmp_path, "b.yaml", "flow: barriers\nstructure: Li6PS5Cl\nspecies: [Li, Cu]\n"))
    c = load_spec(
        spec_file(tmp_path, "c.yaml", "flow: barriers\nstructure: Li6PS5Cl\nspecies: Li,Cu\nimages: 3\n")
    )
    assert spec_fingerprint(a) == spec_fingerprint(b)
    assert spec_fingerprint(a) != spec_fingerprint(c)


def test_the_demo_with_the_donor_is_another_submission(tmp_path):
    plain = load_spec(spec_file(tmp_path, "d.yaml", "flow: demo\n"))
    donor = load_spec(spec_file(tmp_path, "t.yaml", "flow: demo\ndonor: true\n"))
    assert (plain.donor, donor.donor) == (False, True)
    assert spec_fingerprint(plain) != spec_fingerprint(donor)
    assert spec_fingerprint(plain) == spec_fingerprint(
        load_spec(spec_file(tmp_path, "e.yaml", "flow: demo\ndonor: false\n"))
    )
    assert donor.label() == "demo + donor" and plain.label() == "demo"
    # the option it replaced: one line naming the file, the field and the fix
    with pytest.raises(InputError, match=r"t2\.yaml: field 'cnt'.*remove `cnt:`"):
        load_spec(spec_file(tmp_path, "t2.yaml", "flow: demo\ncnt: true\n"))


def test_a_charges_spec_with_contacts_builds_the_scan(tmp_path):
    from ionflow.inputs.antiperovskite import build_ap_orderings
    from ionflow.inputs.contacts import CONTACT_CHANGES
    from ionflow.inputs.interface import build_ap_graphene_interface

    ap = build_ap_orderings(x_br=0.0, supercell=(1, 1, 1), keep=1)[0][0].structure
    model = build_ap_graphene_interface(ap, termination="Li2OH", max_strain=0.1, max_area=40, vacuum=6.0)
    model.structure.to(filename=str(tmp_path / "iface.json"))
    spec = load_spec(spec_file(tmp_path, "c.yaml", "flow: charges\nstructure: iface.json\ncontacts: true\n"))
    flows = build_flows(spec)
    names = ["iface"] + [f"iface, {c}" for c in CONTACT_CHANGES[1:]]
    charges = [label for label, _ in flows if "charge transfer" in label]
    assert [label.split(" (")[0] for label in charges] == [
        f"contact scan: charge transfer {n}" for n in names
    ]
    # per variant its Li hop next to the carbon (host relaxed in a job); the built contact's
    # slab-centre hop too, which checks every variant's slab
    hops = [flow.jobs[0] for label, flow in flows if "Li barriers" in label]
    assert [job.function_args[2] for job in hops] == names  # the host of each variant's rows
    assert [job.function_args[1] for job in hops] == ["AP interface"] + ["AP contact"] * 3
    assert len(flows) == 2 * len(names)


def test_a_study_spec_is_its_own_submission_and_keeps_its_network_settings(tmp_path):
    text = "structure: Li6PS5Cl\nspecies: Li,Cu\nsublattice: Li\n"
    study = load_spec(spec_file(tmp_path, "s.yaml", "flow: study\n" + text))
    barriers = load_spec(spec_file(tmp_path, "b.yaml", "flow: barriers\n" + text))
    longer = load_spec(spec_file(tmp_path, "l.yaml", "flow: study\nmax_distance: 3.4\n" + text))
    assert (study.sublattice, study.max_distance, longer.max_distance) == ("Li", None, 3.4)
    assert len({spec_fingerprint(s) for s in (study, barriers, longer)}) == 3


def test_spec_builds_one_flow_per_hop_with_both_species(tmp_path):
    from ionflow.inputs.conductor import build_dual_ion_conductor

    ranked, _ = build_dual_ion_conductor("Li6PS5Cl", n_cu=1, keep=1, rank_by="ewald")
    ranked[0].structure.to(filename=str(tmp_path / "host.cif"))
    spec = load_spec(spec_file(tmp_path, "s.yaml", "flow: barriers\nstructure: host.cif\nspecies: Li,Cu\n"))
    labels = [label for label, _ in build_flows(spec)]
    assert len(labels) == 2 and any(" Li " in x for x in labels) and any(" Cu " in x for x in labels)


@pytest.mark.parametrize(
    ("model", "warm_start", "cheap"),
    [
        ("SevenNet", None, "CHGNet"),  # on by default where the benchmark shows it holds
        ("SevenNet", False, None),
        ("CHGNet", None, None),  # CHGNet is the warm start itself: nothing to warm-start
    ],
)
def test_warm_start_is_on_by_default_for_an_expensive_embedded_engine(model, warm_start, cheap):
    from ionflow.workflows.specs import FlowSpec

    spec = FlowSpec(flow="barriers", structure="Li6PS5Cl", model=model, warm_start=warm_start)
    (_, flow), *_ = build_flows(spec)
    neb = next(j for j in flow.jobs if j.name.startswith("CI-NEB"))
    assert neb.function_args[2].warm_start == cheap


def test_warm_start_on_chgnet_is_an_error_and_off_on_vasp_by_default():
    from ionflow.workflows.specs import FlowSpec

    with pytest.raises(InputError, match=r"--warm-start.*fix: add --model SevenNet"):
        build_flows(FlowSpec(flow="barriers", structure="Li6PS5Cl", warm_start=True))
    (_, flow), *_ = build_flows(FlowSpec(flow="barriers", structure="Li6PS5Cl", engine="vasp"))
    assert not any(j.name.startswith("warm start") for j in flow.jobs)
