"""Open a nuScenes dataroot with the devkit, tolerating broken rows instead of failing as a whole.

``NuScenes`` raises on the first dangling reference while building its reverse index (e.g. a
sample_data whose calibrated_sensor is missing), which would make one bad row cost the whole
dataset. ``TolerantNuScenes`` drops such rows before indexing and records each as a defect
(table, token, reason, and the sample it belonged to) so the planner can skip exactly the
affected samples with that reason. A table file that is not JSON at all, or a table the devkit
needs that holds no records, is a ``UserError``.
"""

from __future__ import annotations

import json
from pathlib import Path

from nuscenes.nuscenes import NuScenes

from preprocessing.errors import UserError

CAMERA_CHANNELS = ("CAM_FRONT", "CAM_FRONT_RIGHT", "CAM_BACK_RIGHT", "CAM_BACK", "CAM_BACK_LEFT", "CAM_FRONT_LEFT")
LIDAR_CHANNEL = "LIDAR_TOP"
RADAR_CHANNELS = ("RADAR_FRONT", "RADAR_FRONT_LEFT", "RADAR_FRONT_RIGHT", "RADAR_BACK_LEFT", "RADAR_BACK_RIGHT")
KNOWN_CHANNELS = frozenset((*CAMERA_CHANNELS, LIDAR_CHANNEL, *RADAR_CHANNELS))
REQUIRED_TABLES = ("scene", "sample", "sample_data", "sensor", "calibrated_sensor", "ego_pose", "log", "map")
_SAMPLE_DATA_KEYS = (
    "sample_token", "ego_pose_token", "calibrated_sensor_token", "filename", "timestamp", "is_key_frame", "prev", "next"
)


class TolerantNuScenes(NuScenes):
    """``NuScenes`` minus unresolvable rows; ``defects`` lists what was dropped and why."""

    def __init__(self, version: str, dataroot: str | Path):
        self.defects: list[dict] = []
        table_root = Path(dataroot) / version
        if not table_root.is_dir():
            raise UserError(f"nuScenes tables not found: {table_root} (check --dataroot and --version)")
        try:
            super().__init__(version=version, dataroot=str(dataroot), verbose=False)
        except (KeyError, IndexError, AssertionError, TypeError, ValueError) as error:  # a defect that is not row-local
            raise UserError(f"cannot index the nuScenes tables in {table_root}: {type(error).__name__} {error}") from None

    def __load_table__(self, table_name) -> list:
        path = Path(self.table_root) / f"{table_name}.json"
        try:
            table = json.loads(path.read_text())
        except FileNotFoundError:
            raise UserError(f"nuScenes table missing: {path}") from None
        except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as error:
            raise UserError(f"nuScenes table {path} is not valid JSON ({error})") from None
        if not isinstance(table, list):
            raise UserError(f"nuScenes table {path} must be a JSON list of records")
        rows = []
        for position, row in enumerate(table):
            if isinstance(row, dict) and isinstance(row.get("token"), str):
                rows.append(row)
            else:
                self._defect(table_name, f"#{position}", "row is not an object with a string 'token'", row)
        return rows

    def _defect(self, table: str, token: str, reason: str, row) -> None:
        sample = row.get("sample_token") if isinstance(row, dict) else None
        self.defects.append({"table": table, "token": token, "reason": reason, "sample_token": sample})

    def _keep(self, table: str, problem) -> None:
        """Drop the rows of ``table`` for which ``problem(row)`` returns a reason."""
        kept = []
        for row in getattr(self, table):
            reason = problem(row)
            if reason:
                self._defect(table, row["token"], reason, row)
            else:
                kept.append(row)
        setattr(self, table, kept)

    def __make_reverse_index__(self, verbose: bool) -> None:
        tokens = {table: {row["token"]: row for row in getattr(self, table)} for table in self.table_names}
        self._keep("calibrated_sensor", lambda row: _missing(row, "sensor_token", tokens["sensor"], "sensor"))
        calibrations = {row["token"]: row for row in self.calibrated_sensor}
        self._keep("sample_data", lambda row: _sample_data_problem(row, tokens, calibrations))
        self._keep(
            "sample_annotation",
            lambda row: _missing(row, "instance_token", tokens["instance"], "instance")
            or _missing(row, "sample_token", tokens["sample"], "sample"),
        )
        empty = [table for table in REQUIRED_TABLES if not getattr(self, table)]
        if empty:  # the devkit indexes their first rows (an IndexError otherwise)
            raise UserError(f"nuScenes tables in {self.table_root} hold no usable records: {', '.join(empty)}")
        super().__make_reverse_index__(verbose)

    def has(self, table: str, token: str) -> bool:
        """Whether ``token`` is a (kept) record of ``table``: chains may point at dropped rows."""
        return token in self._token2ind[table]

    def defects_of(self, sample_token: str) -> list[str]:
        """Reasons of the dropped rows that belonged to ``sample_token``."""
        return [f"{d['table']} {d['token']}: {d['reason']}" for d in self.defects if d["sample_token"] == sample_token]


def _missing(row: dict, field: str, table: dict, table_name: str) -> str | None:
    if row.get(field) not in table:
        return f"{field} {row.get(field)!r} not found in {table_name}"
    return None


def _sample_data_problem(row: dict, tokens: dict, calibrations: dict) -> str | None:
    absent = [key for key in _SAMPLE_DATA_KEYS if key not in row]
    if absent:
        return f"missing fields {absent}"
    problem = (
        _missing(row, "calibrated_sensor_token", calibrations, "calibrated_sensor (missing calibration)")
        or _missing(row, "ego_pose_token", tokens["ego_pose"], "ego_pose")
        or _missing(row, "sample_token", tokens["sample"], "sample")
    )
    if problem:
        return problem
    sensor = tokens["sensor"][calibrations[row["calibrated_sensor_token"]]["sensor_token"]]
    if sensor.get("channel") not in KNOWN_CHANNELS:
        return f"unknown channel {sensor.get('channel')!r}"
    return None
