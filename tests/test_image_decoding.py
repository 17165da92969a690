"""Strict image decoding: OpenCV's pixels for every valid file, an error wherever libjpeg finds corrupt data."""

from __future__ import annotations

import io
import os
import tempfile

import cv2
import numpy as np
import pytest
from PIL import Image

from preprocessing.images import CorruptImageError, decode_rgb


def flipped(data: bytes, count: int = 12, seed: int = 0) -> bytes:
    """``data`` with ``count`` bytes of its JPEG scan inverted; the markers at both ends stay intact."""
    corrupt = bytearray(data)
    scan = data.index(b"\xff\xda") + 20
    for i in np.random.default_rng(seed).integers(scan, len(data) - 2, count):
        corrupt[i] ^= 0xFF
    return bytes(corrupt)


def scene(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A camera-like BGR frame: gradients, edges and noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 / max(width, 1), y * 255 / max(height, 1), (x // 8 + y // 8) % 2 * 200], axis=-1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


def pillow_jpeg(bgr: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(bgr[..., ::-1])).save(buffer, "JPEG", **options)
    return buffer.getvalue()


def encodings() -> list[bytes]:
    """Valid JPEGs from both encoders: qualities, chroma subsampling, restart markers, progressive,
    grayscale, EXIF orientation, sizes that are not multiples of the block size."""
    files = []
    for width, height in ((96, 64), (53, 37), (9, 7)):
        bgr = scene(width, height)
        for quality in (30, 90, 100):
            files.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])[1].tobytes())
            files.append(cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_RST_INTERVAL, 2])[1].tobytes())
            files += [pillow_jpeg(bgr, quality=quality, subsampling=s) for s in (0, 1, 2)]
            files.append(pillow_jpeg(bgr, quality=quality, progressive=True))
            files.append(pillow_jpeg(bgr[..., :1].repeat(3, axis=-1), quality=quality))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    files.append(pillow_jpeg(scene(96, 64), quality=90, exif=exif.tobytes()))
    return files


def test_valid_files_decode_to_opencvs_pixels():
    for data in encodings():
        expected = cv2.cvtColor(cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
        np.testing.assert_array_equal(decode_rgb(data, "x.jpg"), expected)
    png = cv2.imencode(".png", scene(40, 30))[1].tobytes()
    np.testing.assert_array_equal(decode_rgb(png, "x.png"), scene(40, 30)[..., ::-1])
    assert decode_rgb(b"neither JPEG nor PNG", "x") is None


def libjpeg_warning(data: bytes) -> str:
    """What libjpeg prints on stderr while OpenCV decodes ``data`` (the warnings it otherwise drops)."""
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        captured.seek(0)
        return captured.read().decode().strip()


def test_flipped_bytes_are_refused_where_libjpeg_warns():
    """Byte flips in the scan of baseline JPEGs, with libjpeg's own warning as the oracle: every file it warns
    about is refused — except an invalid code that leaves the scan's length unchanged ("bad Huffman code"
    alone), the one warning the decoder cannot see — and every file it decodes silently is accepted."""
    originals = [cv2.imencode(".jpg", scene(160, 96, seed), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for seed in range(4)]
    warned = refused = 0
    for trial in range(120):
        data = flipped(originals[trial % 4], count=1 + trial % 7, seed=trial)
        warning = libjpeg_warning(data)
        try:
            decode_rgb(data, "x.jpg")
        except CorruptImageError:
            refused += 1
            assert warning, "refused a file libjpeg decodes without complaint"
        else:
            assert warning in ("", "Corrupt JPEG data: bad Huffman code"), warning
        warned += bool(warning)
    assert warned >= 90 and refused >= warned - 2  # the trials really corrupt; the blind spot stays rare


def test_the_issues_grey_filled_frame_is_refused():
    """The probe's case: flipped bytes, end marker intact; libjpeg fills the rest with grey and reports success."""
    data = flipped(cv2.imencode(".jpg", scene(640, 360), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(), count=20)
    assert "Corrupt JPEG data" in libjpeg_warning(data)
    with pytest.raises(CorruptImageError, match="x.jpg: corrupt JPEG"):
        decode_rgb(data, "x.jpg")


def test_damaged_png_data_is_corrupt():
    data = bytearray(cv2.imencode(".png", scene(40, 30))[1].tobytes())
    data[len(data) // 2] ^= 0x01
    with pytest.raises(CorruptImageError, match="x.png: corrupt PNG"):
        decode_rgb(bytes(data), "x.png")
