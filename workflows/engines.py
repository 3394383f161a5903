"""The engines that run ionflow's two studies: one registry entry each.

An entry names the engine, says whether it can run on this machine (:attr:`Engine.check`),
and makes the Maker of each study from a flow spec: the migration barrier of one hop and the
charge transfer across one interface. The flow builders (``ionflow run``, ``ionflow
submit``) look engines up here and nowhere else; adding one (Quantum ESPRESSO) is one entry
here and its Makers in their own module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from jobflow import Maker
from pymatgen.core import SETTINGS

from ionflow.inputs.errors import InputError
from ionflow.workflows.settings import DFT_MODEL, NebDftSettings, NebSettings

if TYPE_CHECKING:
    from ionflow.workflows.specs import FlowSpec

WARM_START_POTENTIAL = "CHGNet"
"""The cheap potential whose band warm-starts the CI-NEB of a more expensive engine."""
WARM_START_BENCHMARKED = ("SevenNet",)
"""NEB models on which the warm start is on by default (benchmarks/warm_start_neb.py)."""


def _always(engine: str) -> None:
    """Engines that need nothing beyond ionflow's own dependencies."""


def _vasp_configured(engine: str) -> None:
    if not SETTINGS.get("PMG_VASP_PSP_DIR"):
        raise InputError(
            f"--engine {engine}",
            "no POTCAR directory is configured (PMG_VASP_PSP_DIR)",
            "set PMG_VASP_PSP_DIR in ~/.config/.pmgrc.yaml and atomate2's VASP_CMD",
        )


def _no_dft_settings(spec: FlowSpec) -> None:
    if spec.dft:
        raise InputError(
            "--dft",
            f"sets GPAW's NEB settings, which --engine {spec.engine} does not use",
            "add --engine gpaw",
        )


def _embedded_barrier(spec: FlowSpec) -> Maker:
    from ionflow.workflows.migration import (  # deferred: engines (torch, CHGNet), ~5 s
        MigrationBarrierMaker,
    )

    _no_dft_settings(spec)
    if spec.model == DFT_MODEL:  # one name for GPAW's NEB: the engine's
        raise InputError(f"--model {DFT_MODEL}", "is not a potential", "use --engine gpaw")
    if spec.warm_start is True and spec.model == WARM_START_POTENTIAL:
        raise InputError(
            "--warm-start",
            f"the warm start runs on {WARM_START_POTENTIAL}, which is already the NEB's engine",
            "add --model SevenNet or --engine vasp (in a spec: model: SevenNet or engine: vasp)",
        )
    warm = spec.warm_start or (spec.warm_start is None and spec.model in WARM_START_BENCHMARKED)
    settings = NebSettings(
        fmax=spec.fmax,
        n_images=spec.images,
        model=spec.model,
        warm_start=WARM_START_POTENTIAL if warm else None,
    )
    return MigrationBarrierMaker(settings=settings)


def _gpaw_barrier(spec: FlowSpec) -> Maker:
    from ionflow.workflows.migration import (  # deferred: engines (torch, CHGNet), ~5 s
        MigrationBarrierMaker,
    )

    if spec.model != NebSettings().model:
        raise InputError(
            f"--model {spec.model}",
            "names the embedded engine's potential; --engine gpaw runs the NEB on GPAW",
            "leave --model out (GPAW's settings are the preset's neb_dft section), or use --engine embedded",
        )
    settings = NebSettings(
        fmax=spec.fmax,
        n_images=spec.images,
        model=DFT_MODEL,
        dft=NebDftSettings(**spec.dft),
        warm_start=WARM_START_POTENTIAL if spec.warm_start else None,
    )
    return MigrationBarrierMaker(settings=settings)


def _gpaw_importable(engine: str) -> None:
    try:
        import gpaw  # noqa: F401  (deferred: only this engine needs it; GPAW's import is ~1 s)
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise InputError(
            f"--engine {engine}",
            f"GPAW is not importable ({exc})",
            "install it with `bash .ci/install` (builds GPAW against libxc/BLAS without MPI)",
        ) from exc


def _embedded_charges(spec: FlowSpec) -> Maker:
    from ionflow.workflows.charge_transfer import (  # deferred: engines (torch, CHGNet, GPAW), ~5 s
        ChargeTransferMaker,
    )

    return ChargeTransferMaker(relax=spec.relax, references=spec.references, allow_polar=spec.allow_polar)


def _vasp_barrier(spec: FlowSpec) -> Maker:
    from ionflow.workflows.vasp import (  # deferred: atomate2 VASP makers and engines, ~5 s
        VaspMigrationBarrierMaker,
    )

    _no_dft_settings(spec)
    return VaspMigrationBarrierMaker(
        n_images=spec.images, incar_overrides={"EDIFFG": -spec.fmax}, warm_start=bool(spec.warm_start)
    )


def _vasp_charges(spec: FlowSpec) -> Maker:
    from ionflow.workflows.vasp import (  # deferred: atomate2 VASP makers and engines, ~5 s
        VaspChargeTransferMaker,
    )

    return VaspChargeTransferMaker(relax=spec.relax, references=spec.references, allow_polar=spec.allow_polar)


@dataclass(frozen=True)
class Engine:
    """What a flow needs of one engine."""

    name: str
    description: str
    barrier_maker: Callable[[FlowSpec], Maker]
    """The Maker of one hop's migration-barrier flow (output: a MigrationBarrierDoc)."""
    charge_maker: Callable[[FlowSpec], Maker] | None
    """The Maker of one interface's charge-transfer flow (output: an InterfaceChargeTransferDoc);
    None: the engine runs barriers only."""
    check: Callable[[str], None] = field(default=_always)
    """Raises an InputError when the engine cannot run from this machine."""


ENGINES: dict[str, Engine] = {
    "embedded": Engine(
        name="embedded",
        description="machine-learned potentials (CHGNet, SevenNet; EMT for metals) and GPAW, on this machine",
        barrier_maker=_embedded_barrier,
        charge_maker=_embedded_charges,
    ),
    "gpaw": Engine(
        name="gpaw",
        description="GPAW DFT on this machine for end points and CI-NEB (LCAO; the preset's neb_dft)",
        barrier_maker=_gpaw_barrier,
        charge_maker=None,
        check=_gpaw_importable,
    ),
    "vasp": Engine(
        name="vasp",
        description="VASP through atomate2 (POTCARs and VASP_CMD configured)",
        barrier_maker=_vasp_barrier,
        charge_maker=_vasp_charges,
        check=_vasp_configured,
    ),
}


DEFAULT_ENGINE = "embedded"
"""The engine of ``ionflow run`` and of flow specs that name none."""


def engine_help() -> str:
    """The engines' names and descriptions, for ``--engine``'s help."""
    return "; ".join(f"{e.name}: {e.description}" for e in ENGINES.values())


def engine(name: str) -> Engine:
    """The registered engine ``name`` after its check; an unknown name is an InputError."""
    if name not in ENGINES:
        raise InputError("--engine", f"unknown engine {name!r}", f"use {' or '.join(ENGINES)}")
    found = ENGINES[name]
    found.check(name)
    return found
