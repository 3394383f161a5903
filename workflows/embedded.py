"""The embedded engine's machine-learned potential, with every force call counted.

Relaxations and NEB run through atomate2's forcefield makers (ASE underneath); the makers'
``_get_calculator`` hook hands them a calculator whose ``calculate`` is counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from ase.calculators.calculator import Calculator
from atomate2.forcefields.jobs import ForceFieldRelaxMaker
from atomate2.forcefields.neb import ForceFieldNebFromImagesMaker


class ForceCallCounter:
    """A call count shared by a calculator and all its copies (ASE's NEB deep-copies it)."""

    def __init__(self) -> None:
        self.calls = 0

    def __copy__(self) -> ForceCallCounter:
        return self

    def __deepcopy__(self, memo: dict) -> ForceCallCounter:
        return self


def count_force_calls(calculator: Calculator) -> Calculator:
    """Count every ``calculate`` of ``calculator`` and of its copies in ``calculator.ionflow_counter``."""
    base = type(calculator)

    def calculate(self, *args, **kwargs):
        self.ionflow_counter.calls += 1
        return base.calculate(self, *args, **kwargs)

    calculator.__class__ = type(f"Counted{base.__name__}", (base,), {"calculate": calculate})
    calculator.ionflow_counter = ForceCallCounter()
    return calculator


class _Counting:
    def _get_calculator(self) -> Calculator:
        return count_force_calls(super()._get_calculator())  # type: ignore[misc]

    @property
    def force_calls(self) -> int:
        """Force evaluations made so far by this maker's calculator."""
        return self.calculator.ionflow_counter.calls  # type: ignore[attr-defined]


@dataclass
class CountedRelaxMaker(_Counting, ForceFieldRelaxMaker):
    """atomate2's forcefield relaxation with counted force calls."""


@dataclass
class CountedNebMaker(_Counting, ForceFieldNebFromImagesMaker):
    """atomate2's forcefield CI-NEB (ASE) with counted force calls."""
