"""One way to build a learned model: its name and a preset.

`model_config("xpdnet", "cpu_small", n_iter=5)` is the named preset's frozen
config with the non-None overrides applied (each config checks its own
values); `build_model(config)` is the model of that config. Presets are
instances of each model's config dataclass, where its defaults live
(xpdnet.PRESETS, rim.PRESETS, deq.PRESETS, varnet.PRESETS, unet.PRESETS,
layerwise.PRESETS, score.PRESETS, loupe.PRESETS: a learned sampling density
with a U-Net or XPDNet). The score network (score/network.py) is
no reconstruction model: it is called as net(x, sigma) -> score, by the
posterior samplers of learned/score/.

A model says what test-time iterations it can run with
`max_inference_iterations`: absent or None, any count >= 1 (XPDNet repeats
its last block, the RIM shares its weights, the DEQ's solve takes a limit);
k, 1 to k (VarNet's cascades, the layer-wise blocks); 0, none (the U-Net).
`check_test_iterations` refuses the rest before anything is trained.
"""

import numbers
from dataclasses import dataclass, fields, replace

from torch import nn

from . import layerwise, loupe, rim, unet, varnet, xpdnet
from .deq import model as deq
from .score import network as score


@dataclass(frozen=True)
class ModelSpec:
    config: type
    model: type
    presets: dict


MODELS = {
    "xpdnet": ModelSpec(xpdnet.XPDNetConfig, xpdnet.XPDNet, xpdnet.PRESETS),
    "rim": ModelSpec(rim.RIMConfig, rim.RIM, rim.PRESETS),
    "deq": ModelSpec(deq.DEQConfig, deq.DEQRecon, deq.PRESETS),
    "varnet": ModelSpec(varnet.VarNetConfig, varnet.VarNet, varnet.PRESETS),
    "unet": ModelSpec(unet.UNetConfig, unet.UNetRecon, unet.PRESETS),
    "layerwise": ModelSpec(layerwise.LayerwiseConfig, layerwise.LayerwiseCNN,
                           layerwise.PRESETS),
    "score": ModelSpec(score.ScoreConfig, score.ScoreNet, score.PRESETS),
    "loupe": ModelSpec(loupe.LoupeConfig, loupe.LoupeModel, loupe.PRESETS),
}


def model_config(name: str, preset: str = "cpu_small", **overrides):
    """The config of model `name`'s `preset`, with the non-None `overrides`."""
    if name not in MODELS:
        raise ValueError(f"Unknown learned model {name!r}: use one of "
                         f"{sorted(MODELS)}.")
    spec = MODELS[name]
    if preset not in spec.presets:
        raise ValueError(f"Unknown {name} preset {preset!r}: use one of "
                         f"{sorted(spec.presets)}.")
    known = {f.name for f in fields(spec.config)}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise ValueError(f"{name} has no config field {unknown}: its fields are "
                         f"{sorted(known)}.")
    return replace(spec.presets[preset],
                   **{k: v for k, v in overrides.items() if v is not None})


def build_model(config) -> nn.Module:
    """The registered model of `config` (a config dataclass of MODELS)."""
    for spec in MODELS.values():
        if isinstance(config, spec.config):
            return spec.model(config)
    raise TypeError(f"No learned model takes a {type(config).__name__}: use a "
                    f"config of {sorted(MODELS)} (learned.model_config).")


def check_test_iterations(name: str, value, model: nn.Module):
    """Raise ValueError naming the solver and the value when `value` (a
    solver's test_iterations; None = as trained) is not a count `model`
    can run (module doc)."""
    if value is None:
        return
    limit = getattr(model, "max_inference_iterations", None)
    if limit == 0:
        raise ValueError(f"{name}: test_iterations={value!r} is refused: the model "
                         "has no inner iterations; leave test_iterations=None.")
    can = (f"the model runs 1 to {limit} inner iterations" if limit is not None
           else "the model runs 1 or more inner iterations")
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ValueError(f"{name}: test_iterations={value!r} is not an integer: "
                         f"{can} (None: as trained).")
    if value < 1 or (limit is not None and value > limit):
        raise ValueError(f"{name}: test_iterations={value!r} is out of range: "
                         f"{can} (None: as trained).")
