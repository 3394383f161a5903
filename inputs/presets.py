"""Calculator presets shipped as data (``inputs/presets/*.yaml``), merged in one place."""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping
from importlib.resources import files
from typing import Any

import yaml

from ionflow.inputs.errors import InputError


def preset_names() -> list[str]:
    """Names of the bundled presets (``vasp``, ``embedded``)."""
    folder = files("ionflow.inputs").joinpath("presets")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_preset(name: str) -> dict[str, Any]:
    """The preset ``name`` as a nested dict."""
    path = files("ionflow.inputs").joinpath(f"presets/{name}.yaml")
    if not path.is_file():
        raise InputError("--preset", f"no preset named {name!r}", f"use one of {', '.join(preset_names())}")
    return yaml.safe_load(path.read_text())


def presets_fingerprint() -> str:
    """Hash of every bundled preset's text: a changed default changes what a flow computes."""
    texts = [load_preset(name) for name in preset_names()]
    return hashlib.sha1(json.dumps(texts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def merged_settings(
    name: str, sections: list[str], overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Merge ``sections`` of preset ``name`` in order, then the user's ``overrides``, into one dict.

    Parameters
    ----------
    name
        Preset name.
    sections
        Section names, later ones winning (e.g. ``["common", "static_charge", "interface"]``).
    overrides
        User settings applied last.
    """
    preset = load_preset(name)
    merged: dict[str, Any] = {}
    for section in sections:
        if section not in preset:
            raise InputError(
                f"preset {name}", f"has no section {section!r}", f"use one of {', '.join(preset)}"
            )
        merged.update(copy.deepcopy(preset[section]))
    merged.update(overrides or {})
    return merged
