"""Full-reference image quality of RGB frames: PSNR, SSIM with the standard settings, and GMSD.

Every function compares two frames of the same shape [H, W, 3] (uint8, or float with ``data_range``).

- SSIM is Wang et al. (2004) as torchmetrics and piq compute it: an 11×11 Gaussian window with
  σ = 1.5, population (not sample) covariances, K1 = 0.01, K2 = 0.03, channels averaged. scikit-image's
  defaults (7×7 uniform window, sample covariance) give other, higher numbers on blurred frames.
- GMSD (Xue et al. 2014, as ``piq.gmsd`` computes it) is the standard deviation of the gradient
  magnitude similarity map: 0 for identical structure, larger when edges are missing or misplaced.
  A blurred or constant frame cannot score well on it, unlike PSNR, which a mean image can win.
"""

from __future__ import annotations

import numpy as np
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

SSIM_SETTINGS = {"gaussian_weights": True, "sigma": 1.5, "use_sample_covariance": False, "K1": 0.01, "K2": 0.03}


def psnr(reference: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    return float(peak_signal_noise_ratio(reference, image, data_range=data_range))


def ssim(reference: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    """Standard SSIM (11×11 Gaussian window, σ = 1.5, population covariance), averaged over channels."""
    return float(structural_similarity(reference, image, data_range=data_range, channel_axis=-1, **SSIM_SETTINGS))


def gmsd(reference: np.ndarray, image: np.ndarray, data_range: float = 255.0) -> float:
    """Gradient magnitude similarity deviation (lower is better, 0 for identical frames)."""
    import piq  # imports torchvision: only when the measure is asked for

    def tensor(frame: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.asarray(frame, dtype=np.float64) / data_range).clamp(0, 1).permute(2, 0, 1)[None]

    return float(piq.gmsd(tensor(image), tensor(reference), data_range=1.0))
