"""nuScenes radar point clouds: binary PCD v0.7 with 18 fields, read and written with numpy.

The devkit's ``RadarPointCloud.from_file`` decodes point by point with ``struct``; this module
decodes the whole buffer at once with a structured dtype, validates the header instead of
asserting, and writes files the devkit reads back (header lines at the positions it indexes,
at least one byte after the last point because its bounds check is strict, a NaN first point
for an empty cloud).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

from preprocessing.atomic import atomic_write_bytes

RADAR_FIELDS = (
    ("x", "f4"), ("y", "f4"), ("z", "f4"), ("dyn_prop", "i1"), ("id", "i2"), ("rcs", "f4"),
    ("vx", "f4"), ("vy", "f4"), ("vx_comp", "f4"), ("vy_comp", "f4"), ("is_quality_valid", "i1"),
    ("ambig_state", "i1"), ("x_rms", "i1"), ("y_rms", "i1"), ("invalid_state", "i1"), ("pdh0", "i1"),
    ("vx_rms", "i1"), ("vy_rms", "i1"),
)  # fmt: skip
RADAR_DTYPE = np.dtype([(name, "<" + code) for name, code in RADAR_FIELDS])  # packed: 43 bytes per point

# The devkit's default filters (RadarPointCloud.default_filters).
DEFAULT_INVALID_STATES = (0,)
DEFAULT_DYNPROP_STATES = tuple(range(7))
DEFAULT_AMBIG_STATES = (3,)

_PCD_TYPES = {("F", 2): "f2", ("F", 4): "f4", ("F", 8): "f8", ("I", 1): "i1", ("I", 2): "i2", ("I", 4): "i4",
              ("I", 8): "i8", ("U", 1): "u1", ("U", 2): "u2", ("U", 4): "u4", ("U", 8): "u8"}  # fmt: skip
_HEADER_KEYS = ("#", "VERSION", "FIELDS", "SIZE", "TYPE", "COUNT", "WIDTH", "HEIGHT", "VIEWPOINT", "POINTS", "DATA")


class PcdError(ValueError):
    """A radar PCD file that cannot be decoded; the message names the file and the problem."""


def encode_radar_pcd(points: np.ndarray) -> bytes:
    """Serialise a structured array of ``RADAR_DTYPE`` (possibly empty) to PCD bytes."""
    points = np.asarray(points)
    if points.dtype != RADAR_DTYPE:
        raise TypeError(f"radar points must have RADAR_DTYPE, got {points.dtype}")
    if len(points) == 0:  # nuScenes convention: one all-NaN point means an empty cloud
        points = np.zeros(1, RADAR_DTYPE)
        for name, code in RADAR_FIELDS:
            if code.startswith("f"):
                points[name] = np.nan
    names = [name for name, _ in RADAR_FIELDS]
    sizes = [str(np.dtype(code).itemsize) for _, code in RADAR_FIELDS]
    types = ["F" if code.startswith("f") else "I" for _, code in RADAR_FIELDS]
    header = "\n".join(
        [
            "# .PCD v0.7 - Point Cloud Data file format",
            "VERSION 0.7",
            "FIELDS " + " ".join(names),
            "SIZE " + " ".join(sizes),
            "TYPE " + " ".join(types),
            "COUNT " + " ".join("1" * len(names)),
            f"WIDTH {len(points)}",
            "HEIGHT 1",
            "VIEWPOINT 0 0 0 1 0 0 0",
            f"POINTS {len(points)}",
            "DATA binary",
        ]
    )
    # The devkit asserts end < len(buffer) for every field, so the last point needs a byte after it.
    return header.encode() + b"\n" + points.tobytes() + b"\n"


def write_radar_pcd(path: str | Path, points: np.ndarray) -> None:
    """Atomically write ``points`` (structured ``RADAR_DTYPE``) as a nuScenes radar PCD file."""
    atomic_write_bytes(path, encode_radar_pcd(points))


def decode_radar_pcd(data: bytes, source: str = "<bytes>") -> np.ndarray:
    """Decode PCD bytes into a read-only structured array over ``data`` (fields as in the header); empty if the
    first point is NaN."""
    *head, body = data.split(b"\n", len(_HEADER_KEYS))
    if len(head) < len(_HEADER_KEYS):
        raise PcdError(f"{source}: truncated PCD header ({len(head)} of {len(_HEADER_KEYS)} lines)")
    offset = len(data) - len(body)
    try:
        width, dtype = _parse_header(data[:offset])
    except PcdError as error:
        raise PcdError(f"{source}: {error}") from None
    if len(data) - offset < width * dtype.itemsize:
        raise PcdError(f"{source}: truncated PCD body: {len(data) - offset} bytes for {width} points of {dtype.itemsize}")
    points = np.frombuffer(data, dtype=dtype, count=width, offset=offset)  # read-only; copying packed records is slow
    return points[:0] if any(value != value for value in points[0].tolist()) else points  # NaN ≠ NaN


@lru_cache(maxsize=1024)  # headers differ only in WIDTH/POINTS: a dataset has a few hundred distinct ones
def _parse_header(header: bytes) -> tuple[int, np.dtype]:
    """(number of points, packed point dtype) of a PCD header's 11 lines; PcdError if it is not one we read."""
    lines = [line.decode("utf-8", errors="replace").strip() for line in header.split(b"\n")]
    for line, key in zip(lines, _HEADER_KEYS):
        if not line.startswith(key):
            raise PcdError(f"PCD header line {line!r} should start with {key!r}")
    try:
        width, height = int(lines[6].split()[1]), int(lines[7].split()[1])
        dtype = _point_dtype(lines[2], lines[3], lines[4])
    except (ValueError, KeyError, IndexError) as error:
        raise PcdError(f"malformed PCD header ({error})") from None
    if lines[10].split()[1:] != ["binary"]:
        raise PcdError(f"only 'DATA binary' PCD is supported, got {lines[10]!r}")
    if height != 1 or width <= 0:
        raise PcdError(f"expected HEIGHT 1 and WIDTH > 0, got {height} and {width}")
    return width, dtype


def _point_dtype(fields: str, sizes: str, types: str) -> np.dtype:
    """The packed little-endian point dtype of a PCD header (KeyError/ValueError if malformed)."""
    columns = zip(fields.split()[1:], sizes.split()[1:], types.split()[1:], strict=True)
    return np.dtype([(field, "<" + _PCD_TYPES[(kind, int(size))]) for field, size, kind in columns])


def read_radar_pcd(path: str | Path) -> np.ndarray:
    """Read a nuScenes radar PCD file into a structured array (all returns, unfiltered)."""
    with open(path, "rb", buffering=0) as file:  # one read of a few kB: a buffer would only add a copy
        return decode_radar_pcd(file.readall(), str(path))


def radar_filter_mask(
    points: np.ndarray,
    invalid_states=DEFAULT_INVALID_STATES,
    dynprop_states=DEFAULT_DYNPROP_STATES,
    ambig_states=DEFAULT_AMBIG_STATES,
) -> np.ndarray:
    """Boolean mask of the returns the devkit keeps for these state filters (its defaults unless given)."""
    keep = np.ones(len(points), bool)
    for field, states in (("invalid_state", invalid_states), ("dyn_prop", dynprop_states), ("ambig_state", ambig_states)):
        values = points[field]
        codes = values.view(np.uint8) if values.dtype.itemsize == 1 else values.astype(np.int64) % 256  # −1 → 255
        keep &= _state_table(tuple(states))[codes]
    return keep


@lru_cache(maxsize=64)
def _state_table(states: tuple[int, ...]) -> np.ndarray:
    """256-entry lookup of the byte-sized states to keep: much cheaper than np.isin."""
    table = np.zeros(256, bool)
    table[np.asarray(states, np.int64) % 256] = True
    return table


def radar_points_matrix(points: np.ndarray) -> np.ndarray:
    """The devkit's layout: float64 matrix <18, n> with rows in field order."""
    # one row per field: several times faster than structured_to_unstructured on a few hundred returns
    return np.array([points[name] for name in points.dtype.names], dtype=np.float64).reshape(len(points.dtype.names), -1)
