"""Render a local HTML page in headless Chromium: the DOM after its scripts ran, and a screenshot.

    from tests.browser import render
    page = render(path_to_html, tmp_path)          # fails the test if Chromium is missing
    page.dom                                       # serialised DOM after load (str)
    page.screenshot                                # BGR image [height, width, 3] (numpy)
    page.coloured_rows()                           # row indices holding plot colours (not text or white)

``scripts/setup.sh`` (``make test``, CI) installs Debian's ``chromium``; a missing browser is a
failure, not a skip, so CI cannot pass without having looked at the pages. Runs as root need
``--no-sandbox``; the other flags keep a headless run offline and free of first-run work, and each
call gets a fresh profile directory.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")  # fmt: skip


def chromium() -> str:
    """Path of the Chromium binary; fails the calling test when there is none."""
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        pytest.fail("chromium is not installed: run scripts/setup.sh as root (apt-get install -y chromium)")
    return binary


def _run(page: Path, work: Path, *args: str) -> subprocess.CompletedProcess:
    profile = work / f"profile-{len(list(work.glob('profile-*')))}"
    command = [chromium(), *FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    return result


@dataclass(frozen=True)
class RenderedPage:
    dom: str
    screenshot: np.ndarray  # BGR [height, width, 3]

    def coloured_rows(self, contrast: int = 60) -> np.ndarray:
        """Indices of screenshot rows with saturated pixels (plot colours; text and background are grey)."""
        image = self.screenshot.astype(int)
        return np.flatnonzero(((image.max(axis=2) - image.min(axis=2)) > contrast).any(axis=1))


def render(page: Path, work: Path, size: tuple[int, int] = (1200, 3600)) -> RenderedPage:
    """Load ``page`` (a local file) in headless Chromium at ``size`` (width, height); profiles and the screenshot go to ``work``."""
    import cv2

    dom = _run(page, work, "--dump-dom").stdout
    shot = work / "screenshot.png"
    _run(page, work, f"--screenshot={shot}", f"--window-size={size[0]},{size[1]}")
    image = cv2.imread(str(shot))
    assert image is not None and image.shape[:2] == (size[1], size[0]), f"no {size} screenshot of {page}"
    return RenderedPage(dom, image)
