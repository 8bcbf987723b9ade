"""Weights from a file: fastMRI's published state dicts, or the benchmark's own.

`load_pretrained(model, path, sha256=None)` loads a state dict (a dict of
tensors, or a benchmark checkpoint's "state_dict") into `model`. A model
whose weights have another layout elsewhere maps those names with its
`pretrained_key(name) -> name` (VarNet and the U-Net map fastMRI's); names it
does not know pass unchanged. Every key and shape must match the model's:
nothing is loaded partially. Returns the file's sha256, which the run records
(result file, checkpoint, dashboard); `sha256` refuses a file whose digest
differs.
"""

import hashlib
from pathlib import Path

import torch

from .checkpoint import state_dict_problems


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_state_dict(path: Path) -> dict:
    """The state dict in `path`, or ValueError naming the file and the problem."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types here
        reason = (str(err).strip().splitlines() or [""])[0]
        raise ValueError(
            f"pretrained={path} cannot be read as a torch state dict "
            f"({type(err).__name__}: {reason}). Is the file truncated, or not a .pt "
            "file saved with torch.save(model.state_dict())?") from err
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a benchmark checkpoint (checkpoint.py)
    if not (isinstance(state, dict) and state
            and all(isinstance(v, torch.Tensor) for v in state.values())):
        raise ValueError(
            f"pretrained={path} is not a state dict (a dict of tensors, "
            f"torch.save(model.state_dict())): it holds a {type(state).__name__}.")
    return state


def load_pretrained(model: torch.nn.Module, path, sha256: str | None = None) -> str:
    """Load the weights of `path` into `model` (module doc); returns the sha256."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"pretrained={path}: no such file.")
    digest = file_sha256(path)
    if sha256 is not None and digest != str(sha256).lower():
        raise ValueError(
            f"pretrained={path} has sha256 {digest}, not the expected "
            f"pretrained_sha256={sha256}: another or a corrupted file.")
    state = read_state_dict(path)
    rename = getattr(model, "pretrained_key", lambda key: key)
    original = {rename(key): key for key in state}
    mapped = {rename(key): value for key, value in state.items()}
    problems = state_dict_problems(model.state_dict(), mapped, original)
    if problems:
        raise ValueError(
            f"pretrained={path} does not fit {type(model).__name__}"
            f"({getattr(model, 'config', '')}): {'; '.join(problems)}. Weights of "
            "another architecture, or of another size (preset)?")
    model.load_state_dict(mapped)
    return digest
