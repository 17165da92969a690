"""Image-quality metrics of Table 3.5: PSNR, standard SSIM and GMSD (``perception.image_quality``) and
LPIPS (the ``lpips`` package).

All metrics compare uint8 [H, W, 3] RGB frames, i.e. exactly what is written to disk. LPIPS needs the
AlexNet backbone weights, which cannot be downloaded here: they are given as a local file (torchvision's
``alexnet-owt-7be5be79.pth`` state dict, or the same tensors as ``.safetensors``); the linear heads ship
with the ``lpips`` package. Without weights LPIPS is reported as unavailable, never estimated.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

from fusion.diffusion.images import from_uint8
from perception.image_quality import gmsd, psnr, ssim
from preprocessing.errors import UserError

__all__ = ["LPIPS", "gmsd", "psnr", "read_state_dict", "ssim"]


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise UserError(f"LPIPS weights not found: {path}")
    if path.suffix == ".safetensors":
        return load_file(path)
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file is the user's input problem
        raise UserError(f"cannot read LPIPS weights {path} as a tensor state dict: {error}") from None


class LPIPS:
    """LPIPS (AlexNet, v0.1) with the backbone loaded from a local torchvision AlexNet state dict."""

    def __init__(self, backbone_weights: Path):
        import lpips  # imports torchvision: only when LPIPS is asked for

        with warnings.catch_warnings():  # lpips still passes torchvision's deprecated ``pretrained=False``
            warnings.simplefilter("ignore", UserWarning)
            self.network = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False)
        self.load_backbone(read_state_dict(Path(backbone_weights)), str(backbone_weights))

    def load_backbone(self, state: dict[str, torch.Tensor], source: str) -> None:
        """torchvision ``features.<i>.<param>`` → LPIPS ``net.slice<k>.<i>.<param>`` (slices keep layer indices)."""
        slices = self.slice_of_layer()
        mapped = {}
        for key, value in state.items():
            match = re.fullmatch(r"features\.(\d+)\.(weight|bias)", key)
            if match and match.group(1) in slices:
                mapped[f"net.slice{slices[match.group(1)]}.{match.group(1)}.{match.group(2)}"] = value
        expected = {k for k in self.network.state_dict() if k.startswith("net.")}
        if set(mapped) != expected:
            raise UserError(f"{source} is not an AlexNet state dict (features.N.weight/bias) for LPIPS")
        self.network.load_state_dict(mapped, strict=False)

    def slice_of_layer(self) -> dict[str, int]:
        """AlexNet layer index (as in ``features.<i>``) → the LPIPS slice that holds it."""
        return {
            layer: int(slice_name.removeprefix("slice"))
            for slice_name, block in self.network.net.named_children()
            for layer, _ in block.named_children()
        }

    @torch.no_grad()
    def __call__(self, reference: np.ndarray, image: np.ndarray) -> float:
        return float(self.network(from_uint8(reference[None]), from_uint8(image[None])).item())
