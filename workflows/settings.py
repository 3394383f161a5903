"""The engines' settings, typed, with their defaults from the presets: one module.

Each class reads its defaults from sections of a bundled preset (``inputs/presets/embedded.yaml``,
the ``flow`` section of ``vasp.yaml``); what a user gives wins. The Makers take these as typed
fields, the flow specs and ``ionflow run`` take their defaults from them, and the documents
record them (``model_dump``). A key the preset lacks is a validation error at first use,
not a silent default in some module.
"""

from __future__ import annotations

from functools import cache
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ionflow.inputs.presets import load_preset


@cache
def _preset(name: str) -> dict[str, Any]:
    return load_preset(name)


DFT_MODEL = "GPAW"
"""The NEB engine name under which GPAW runs end points and bands (``--engine gpaw``)."""
VASP_MODEL = "VASP"
"""The NEB engine name under which VASP single points run the warm start's corrected rounds
on a cluster (``--engine vasp --warm-start``; :mod:`ionflow.workflows.vasp_calculator`)."""


class PresetSettings(BaseModel):
    """Settings whose missing fields come from ``sections`` of the bundled ``preset`` (later
    sections win; preset keys that are not fields of the class are not taken)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    preset: ClassVar[str] = "embedded"
    sections: ClassVar[tuple[str, ...]] = ()

    @model_validator(mode="before")
    @classmethod
    def _preset_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        defaults: dict[str, Any] = {}
        for section in cls.sections:
            defaults.update({k: v for k, v in _preset(cls.preset)[section].items() if k in cls.model_fields})
        return {**defaults, **data}


class NebSettings(PresetSettings):
    """One hop's migration barrier on a machine-learned potential: end points, band, warm start."""

    sections: ClassVar[tuple[str, ...]] = ("forcefield", "neb")

    model: str = Field(description="the potential (a name in ionflow.workflows.embedded.POTENTIALS)")
    dispersion: bool = Field(description="add DFT-D3 to the potential")
    n_images: int = Field(ge=1, description="images between the end points")
    fmax: float = Field(gt=0, description="eV/Å: CI-NEB force criterion on the band")
    steps: int = Field(ge=1, description="optimizer steps of the band")
    climb: bool = Field(description="climbing image")
    method: str = Field(description="ASE NEB tangent method")
    end_point_fmax: float = Field(gt=0, description="eV/Å: force criterion of the end points")
    end_point_steps: int = Field(ge=1, description="optimizer steps of each end point")
    end_point_optimizer: str = Field(description="ASE optimizer of the end points")
    end_point_site_drift: float = Field(
        gt=0,
        description="Å: an end point whose moving ion relaxed further than this from its cut site is "
        "searched again, the ion pinned at its site first; the lower minimum on the site is kept",
    )
    warm_start: str | None = Field(
        None, description="cheap potential whose band warm-starts the CI-NEB (None: plain CI-NEB from IDPP)"
    )
    warm_end_points: bool = Field(
        description="with warm_start: relax the end points on it first, finish them on the NEB's engine"
    )
    dft: NebDftSettings | None = Field(
        None, description=f"GPAW's settings when model is {DFT_MODEL!r} (default: the preset's neb_dft)"
    )

    @model_validator(mode="before")
    @classmethod
    def _dft_defaults(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model") == DFT_MODEL and data.get("dft") is None:
            return {**data, "dft": NebDftSettings()}
        return data

    @property
    def engine(self) -> str:
        """The engine label of the documents: ``embedded:MODEL[+D3]``, or ``gpaw:MODE-BASIS/XC``."""
        if self.dft is not None:
            return f"gpaw:{self.dft.label}" + ("+D3" if self.dispersion else "")
        return f"embedded:{self.model}" + ("+D3" if self.dispersion else "")

    @property
    def calculator_kwargs(self) -> dict[str, Any]:
        """What the NEB engine's calculator is made with beyond its name: GPAW's settings."""
        return {"settings": self.dft.model_dump()} if self.dft is not None else {}


class GpawSettings(PresetSettings):
    """GPAW's electronic structure: mode, basis or cutoff, functional, grid, k-points, SCF."""

    mode: Literal["lcao", "pw"] = Field(description="GPAW mode: lcao (LCAO basis) or pw (plane waves)")
    basis: str = Field(description="LCAO basis (dzp ships with gpaw-data)")
    ecut: float = Field(gt=0, description="eV: plane-wave cutoff (mode pw)")
    xc: str
    h: float = Field(gt=0, description="Å: real-space grid spacing")
    kspacing: float = Field(gt=0, description="1/Å (2π included): largest k-point spacing")
    smearing: float = Field(ge=0, description="eV: Fermi-Dirac width")
    energy_tolerance: float = Field(gt=0, description="eV per valence electron")

    @property
    def label(self) -> str:
        """``lcao-dzp`` or ``pw-400eV``, and the functional: the engine label's detail."""
        method = f"lcao-{self.basis}" if self.mode == "lcao" else f"pw-{self.ecut:g}eV"
        return f"{method}/{self.xc}"


class DftSettings(GpawSettings):
    """GPAW's static run: all-electron density and potential for Bader and the potential step."""

    sections: ClassVar[tuple[str, ...]] = ("dft",)

    density_refinement: int = Field(ge=1, description="density grid this many times finer than h")
    dipole_correction: bool = Field(description="dipole layer in the vacuum of slabs")


class NebDftSettings(GpawSettings):
    """GPAW as the NEB engine (``--engine gpaw``): forces of end points and images."""

    sections: ClassVar[tuple[str, ...]] = ("neb_dft",)

    max_kpoints: int = Field(
        ge=1, description="k-points a NEB cell may need at kspacing; more: the cell is too small"
    )


class InterfaceRelaxSettings(PresetSettings):
    """The interface's relaxation at fixed cell on the potential, the bottom of the AP slab fixed."""

    sections: ClassVar[tuple[str, ...]] = ("interface_relax",)

    fix_bottom: float = Field(ge=0, le=1, description="fraction of the AP slab's thickness kept fixed")
    fmax: float = Field(gt=0, description="eV/Å")
    steps: int = Field(ge=1)


class BaderSettings(PresetSettings):
    """baderkit's partition of the density."""

    sections: ClassVar[tuple[str, ...]] = ("bader",)

    method: str = Field(description="baderkit method; 'neargrid' matches Henkelman's bader -b neargrid")
    vacuum_tol: float = Field(ge=0, description="e/Å³ below which a grid point counts as vacuum")


class ChargeTransferSettings(PresetSettings):
    """One AP/carbon interface's charge transfer on the embedded engine."""

    sections: ClassVar[tuple[str, ...]] = ("forcefield", "interface_relax")

    model: str = Field(description="the potential of the relaxation")
    dispersion: bool = Field(description="add DFT-D3 to the relaxation's potential")
    dft: DftSettings = Field(default_factory=DftSettings)
    relax: InterfaceRelaxSettings = Field(default_factory=InterfaceRelaxSettings)
    bader: BaderSettings = Field(default_factory=BaderSettings)
    period: float | None = Field(
        None, gt=0, description="Å: window of the macroscopic average (None: the interface's own)"
    )

    @property
    def engine(self) -> str:
        """The relaxation's engine label: ``MODEL[+D3]``."""
        return self.model + ("+D3" if self.dispersion else "")


class VaspFlowSettings(PresetSettings):
    """The VASP flows' own settings (INCAR tags stay in the preset's other sections)."""

    preset: ClassVar[str] = "vasp"
    sections: ClassVar[tuple[str, ...]] = ("flow",)

    n_images: int = Field(ge=1, description="CI-NEB images between the end points")
    kspacing: float = Field(gt=0, description="1/Å (2π included): largest k-point spacing")
    fix_bottom: float = Field(ge=0, le=1, description="fraction of the AP slab's thickness kept fixed")


__all__ = [
    "BaderSettings",
    "ChargeTransferSettings",
    "DftSettings",
    "GpawSettings",
    "InterfaceRelaxSettings",
    "NebDftSettings",
    "NebSettings",
    "VaspFlowSettings",
]
