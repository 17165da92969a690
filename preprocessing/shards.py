"""The shard format: WebDataset-style tar files plus JSON indexes, and a plain-python reader.

Layout of an ingest output directory::

    OUT/manifest.json          format, run config, shard list (name, sha256, counts), skipped samples, counts
    OUT/shard-000000.tar       one tar per shard; members grouped per sample, named <key>.<field>:
                                 <key>.json              sample metadata (tokens, night_scene, day_twin, calibration,
                                                         night parameters)
                                 <key>.day.png           RGB uint8 [H,W,3]   (the day frame or a night frame's day twin,
                                                         resized; a night frame without twin: that frame)
                                 <key>.night.png         RGB uint8 [H,W,3]   (synthesised, or the real night frame)
                                 <key>.lidar.npy.gz      float32 [3,H,W]     depth m, intensity, valid (gzipped .npy)
                                 <key>.radar.npy.gz      float32 [4,H,W]     depth m, RCS, radial velocity m/s, valid
                                 <key>.lidar_points.npy  float32 [N,5]       sample.LIDAR_POINT_COLUMNS, sensor frame
                                 <key>.radar_points.npy  float64 [M,8]       sample.RADAR_POINT_COLUMNS, sensor frames
    OUT/shard-000000.json      the shard's index: its sha256 and, per sample, the metadata plus
                               members {field: [byte offset, size, sha256]} for random access

Tars are byte-deterministic (fixed member order, mtime 0, no owner), so a resumed or distributed
run produces the same files as a single uninterrupted one. Any tar tool or WebDataset can read them
(WebDataset's default decoders handle .png, .npy, .json and the .gz wrapper). The sparse maps are
gzipped (level 1: mostly zeros, ~5× smaller for little CPU); PNGs use zlib level 1 for the same reason.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import cv2
import numpy as np

from preprocessing.atomic import atomic_write_bytes, atomic_write_json
from preprocessing.errors import UserError

FORMAT = "nightfusion-shards"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
FIELDS = ("json", "day.png", "night.png", "lidar.npy.gz", "radar.npy.gz", "lidar_points.npy", "radar_points.npy")


class ShardFormatError(UserError):
    """An output directory or shard that does not follow the format; the message says which file."""


def shard_name(index: int) -> str:
    return f"shard-{index:06d}"


def member_key(key: str) -> str:
    """Tar-safe sample key: WebDataset splits names at the first dot, so only [A-Za-z0-9_-] survive."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", key)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _png(rgb: np.ndarray) -> bytes:
    bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)  # OpenCV encodes from BGR
    ok, encoded = cv2.imencode(".png", bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])
    if not ok:
        raise ValueError("PNG encoding failed")
    return encoded.tobytes()


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
    return buffer.getvalue()


def encode_sample(sample) -> dict[str, bytes]:
    """A ``ProcessedSample`` → {field: bytes} in ``FIELDS`` order."""
    payloads = {
        "json": json.dumps(sample.meta, sort_keys=True).encode(),
        "day.png": _png(sample.day),
        "night.png": _png(sample.night),
        "lidar.npy.gz": gzip.compress(_npy(sample.lidar), compresslevel=1, mtime=0),
        "radar.npy.gz": gzip.compress(_npy(sample.radar), compresslevel=1, mtime=0),
        "lidar_points.npy": _npy(sample.lidar_points),
        "radar_points.npy": _npy(sample.radar_points),
    }
    return {field: payloads[field] for field in FIELDS}


def build_tar(samples: list[dict[str, bytes]], keys: list[str]) -> tuple[bytes, list[dict]]:
    """Deterministic tar bytes and, per sample, {field: [offset, size, sha256]} of its members."""
    buffer = io.BytesIO()
    members = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for key, payloads in zip(keys, samples, strict=True):
            entry = {}
            for field, data in payloads.items():
                info = tarfile.TarInfo(f"{member_key(key)}.{field}")
                info.size, info.mtime, info.mode = len(data), 0, 0o644
                header = info.tobuf(tar.format, tar.encoding, tar.errors)
                entry[field] = [tar.offset + len(header), len(data), sha256(data)]
                tar.addfile(info, io.BytesIO(data))
            members.append(entry)
    return buffer.getvalue(), members


def write_shard(out: Path, index: int, samples: list, skipped: list[dict]) -> dict:
    """Write ``shard-XXXXXX.tar`` then its index JSON (the index's presence marks the shard complete)."""
    name = shard_name(index)
    payloads = [encode_sample(sample) for sample in samples]
    data, members = build_tar(payloads, [sample.meta["key"] for sample in samples])
    atomic_write_bytes(out / f"{name}.tar", data)
    records = [{**sample.meta, "members": entry} for sample, entry in zip(samples, members)]
    shard = {"name": name, "tar": f"{name}.tar", "sha256": sha256(data), "size": len(data)}
    shard |= {"samples": records, "skipped": skipped}
    atomic_write_json(out / f"{name}.json", shard)
    return shard


def skip_entry(key: str, sample_token: str, scene_name: str, stage: str, error: Exception, details=()) -> dict:
    """The manifest record of a skipped sample: where, at which stage (plan/process), why."""
    message = error.args[0] if isinstance(error, KeyError) and error.args else str(error)
    reason = "; ".join([str(message), *details])
    where = {"key": key, "sample_token": sample_token, "scene_name": scene_name}
    return where | {"stage": stage, "error": type(error).__name__, "reason": reason}


def read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ShardFormatError(f"{path} not found") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
        raise ShardFormatError(f"{path} is not valid JSON ({error})") from None


def read_shard_index(out: Path, name: str) -> dict:
    return read_json(Path(out) / f"{name}.json")


def shard_is_complete(out: Path, index: int) -> bool:
    """True if the shard's index exists and its tar has the recorded checksum (used by ``--resume``)."""
    name = shard_name(index)
    tar = Path(out) / f"{name}.tar"
    try:
        shard = read_shard_index(out, name)
        return tar.stat().st_size == shard["size"] and sha256(tar.read_bytes()) == shard["sha256"]
    except (ShardFormatError, OSError, KeyError, TypeError):
        return False


def read_manifest(out: str | Path) -> dict:
    """The manifest of a finished ingest (ShardFormatError if missing, unfinished or of another format)."""
    manifest = read_json(Path(out) / MANIFEST)
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise ShardFormatError(f"{Path(out) / MANIFEST}: not a {FORMAT} v{FORMAT_VERSION} manifest")
    return manifest


def list_samples(out: str | Path, split: str | None = None) -> list[dict]:
    """Sample records (metadata + members + ``tar`` path) of every shard, optionally of one split."""
    out = Path(out)
    records = []
    for shard in read_manifest(out)["shards"]:
        index = read_shard_index(out, shard["name"])
        for record in index["samples"]:
            if split is None or record["split"] == split:
                records.append({**record, "tar": str(out / index["tar"])})
    return records


def read_members(record: dict, fields=FIELDS, verify: bool = False) -> dict[str, bytes]:
    """{field: bytes} of a sample record's members (one open, seek + read each; ``verify`` checks sha256)."""
    out = {}
    with open(record["tar"], "rb") as handle:
        for field in fields:
            offset, size, digest = record["members"][field]
            handle.seek(offset)
            data = handle.read(size)
            if len(data) != size or (verify and sha256(data) != digest):
                raise ShardFormatError(f"{record['tar']}: member {record['key']}.{field} is truncated or corrupt")
            out[field] = data
    return out


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes → [H,W,3] uint8 RGB."""
    return cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def decode_member(field: str, data: bytes):
    """Decode a member by its extension: .gz wrapper, then .png (RGB array), .npy (never unpickles) or .json."""
    if field.endswith(".gz"):
        field, data = field[:-3], gzip.decompress(data)
    if field.endswith(".png"):
        return decode_png(data)
    if field.endswith(".npy"):
        return np.load(io.BytesIO(data), allow_pickle=False)
    return json.loads(data)


def load_sample(record: dict, verify: bool = False) -> dict:
    """All arrays of a sample record (numpy, RGB uint8 images) plus its metadata under ``meta``."""
    members = read_members(record, FIELDS, verify)
    return {"meta" if field == "json" else field.split(".", 1)[0]: decode_member(field, members[field]) for field in FIELDS}


def iter_samples(out: str | Path, split: str | None = None, verify: bool = False):
    """Yield ``load_sample`` dicts of every sample of an ingest output, in manifest order."""
    for record in list_samples(out, split):
        yield load_sample(record, verify)
