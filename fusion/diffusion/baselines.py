"""Classical low-light baselines of the evaluation (OpenCV): CLAHE and automatic gamma correction.

Both see only the night frame. Images are uint8 [H, W, 3] RGB.
"""

from __future__ import annotations

import cv2
import numpy as np


def clahe(image: np.ndarray, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    """Contrast-limited adaptive histogram equalisation of the lightness channel (Lab), colours kept."""
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    equaliser = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    lab[..., 0] = equaliser.apply(lab[..., 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def auto_gamma(image: np.ndarray, target_mean: float = 0.5) -> np.ndarray:
    """Gamma curve x ↦ x^γ with γ chosen so that the mean intensity maps to ``target_mean``."""
    mean = float(np.clip(image.mean() / 255.0, 1e-3, 0.999))
    gamma = np.log(target_mean) / np.log(mean)
    table = (np.linspace(0, 1, 256) ** gamma * 255).round().astype(np.uint8)
    return cv2.LUT(image, table)


BASELINES = {"clahe": clahe, "gamma": auto_gamma}
