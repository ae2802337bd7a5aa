"""``--device auto|cpu|cuda`` resolved once, with one clear line when CUDA is asked but absent."""

from emofuse.errors import UserError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is visible, else ``cpu``; ``cuda`` without one -> error."""
    import torch

    name = (device or "auto").lower()
    if name not in DEVICES and not name.startswith("cuda:"):
        raise UserError(f"unknown device {device!r}", "use --device auto, cpu or cuda")
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(
            "--device cuda was asked but no CUDA GPU is visible to torch",
            "use --device cpu (or auto), or install a CUDA build of torch on a GPU machine",
        )
    return name
