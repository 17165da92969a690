"""File names read from untrusted JSON (a model manifest, a frame's calibration) stay inside their folder.

A name must be a plain file name — no directory part, no ``..``, not absolute — and if it is a
symbolic link, the link must not lead out of the folder: otherwise a manifest entry
``"../evil/denoiser.onnx"`` would load a file the checksums never covered.
"""

from __future__ import annotations

from pathlib import Path


def confined_file(folder: Path, name) -> Path:
    """``folder / name``; ValueError unless ``name`` is a plain file name whose file stays inside ``folder``."""
    if not isinstance(name, str) or name in ("", ".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(f"{name!r} is not a plain file name inside {folder}")
    path = folder / name
    if path.is_symlink() and path.resolve().parent != folder.resolve():
        raise ValueError(f"{path} is a link leading out of {folder}")
    return path
