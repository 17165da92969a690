"""Radar PCD codec: round trip through the devkit's own reader, empty clouds, corrupt files."""

import numpy as np
import pytest
from nuscenes.utils.data_classes import RadarPointCloud

from preprocessing.pointclouds import PointCloudError, RadarFilters, load_radars
from preprocessing.pcd import RADAR_DTYPE, PcdError, radar_filter_mask, radar_points_matrix, read_radar_pcd, write_radar_pcd


def random_points(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    points = np.zeros(n, RADAR_DTYPE)
    for name in RADAR_DTYPE.names:
        kind = RADAR_DTYPE[name].kind
        points[name] = rng.normal(0, 20, n) if kind == "f" else rng.integers(0, 8, n)
    points["z"] = 0.0
    points["ambig_state"] = rng.choice([1, 3], n)
    return points


def test_devkit_reads_what_we_write(tmp_path):
    points = random_points(57)
    path = tmp_path / "radar.pcd"
    write_radar_pcd(path, points)
    RadarPointCloud.disable_filters()
    try:
        devkit = RadarPointCloud.from_file(str(path)).points
    finally:
        RadarPointCloud.default_filters()
    np.testing.assert_array_equal(devkit, radar_points_matrix(points))
    body = path.read_bytes().split(b"DATA binary\n", 1)[1]
    assert len(body) == 43 * 57 + 1  # packed 43-byte points plus the byte the devkit's bounds check needs


def test_reader_matches_devkit_default_filters(tmp_path):
    points = random_points(200, seed=1)
    path = tmp_path / "radar.pcd"
    write_radar_pcd(path, points)
    ours = read_radar_pcd(path)
    np.testing.assert_array_equal(ours, points)
    kept = ours[radar_filter_mask(ours)]
    np.testing.assert_array_equal(radar_points_matrix(kept), RadarPointCloud.from_file(str(path)).points)
    assert 0 < len(kept) < len(points)  # the filters really remove something here


def test_empty_cloud_round_trips_as_nuscenes_does(tmp_path):
    path = tmp_path / "empty.pcd"
    write_radar_pcd(path, np.zeros(0, RADAR_DTYPE))
    assert len(read_radar_pcd(path)) == 0
    assert RadarPointCloud.from_file(str(path)).points.shape == (18, 0)


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda data: data[:-50], "truncated PCD body"),
        (lambda data: data[:40], "truncated PCD header"),
        (lambda data: data.replace(b"VERSION", b"VERZION"), "should start with 'VERSION'"),
        (lambda data: data.replace(b"DATA binary", b"DATA ascii!"), "only 'DATA binary'"),
    ],
)
def test_corrupt_files_raise_a_clear_error(tmp_path, corrupt, message):
    path = tmp_path / "radar.pcd"
    write_radar_pcd(path, random_points(5))
    path.write_bytes(corrupt(path.read_bytes()))
    with pytest.raises(PcdError, match=message) as error:
        read_radar_pcd(path)
    assert str(path) in str(error.value)


def test_radar_files_loaded_together_equal_the_devkit_file_by_file(tmp_path):
    """load_radars filters and converts all files in one pass and splits them back: an empty file in
    the middle and filtered-out returns at file boundaries must not shift points between files."""
    paths = []
    for i, n in enumerate((31, 0, 1, 64, 12)):
        paths.append(str(tmp_path / f"radar{i}.pcd"))
        write_radar_pcd(paths[-1], random_points(n, seed=10 + i))
    ours = load_radars(paths)
    assert [matrix.shape[0] for matrix in ours] == [18] * 5
    for path, matrix in zip(paths, ours):
        np.testing.assert_array_equal(matrix, RadarPointCloud.from_file(path).points)
    everything = RadarFilters(invalid_states=tuple(range(256)), dynprop_states=tuple(range(256)), ambig_states=tuple(range(256)))
    assert [matrix.shape[1] for matrix in load_radars(paths, everything)] == [31, 0, 1, 64, 12]


def test_radar_file_with_nan_coordinates_is_named(tmp_path):
    paths = []
    for i in range(3):
        points = random_points(20, seed=i)
        points["ambig_state"], points["invalid_state"], points["dyn_prop"] = 3, 0, 0  # every return kept
        if i == 2:
            points["y"][7] = np.nan
        paths.append(str(tmp_path / f"radar{i}.pcd"))
        write_radar_pcd(paths[-1], points)
    with pytest.raises(PointCloudError, match="radar2.pcd: radar returns with NaN/inf"):
        load_radars(paths)
    assert len(load_radars(paths[:2])) == 2
