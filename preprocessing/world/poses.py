"""Ego and sensor poses in the global frame at any instant of a synthetic scene."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pyquaternion import Quaternion

from preprocessing.world.layout import SceneLayout
from preprocessing.world.rig import Sensor


@dataclass(frozen=True)
class Pose:
    """A rigid transform: frame → global (``rotation`` applied first, then ``translation``)."""

    translation: np.ndarray  # [3]
    rotation: Quaternion

    @property
    def matrix(self) -> np.ndarray:
        return self.rotation.rotation_matrix

    def compose(self, translation, rotation: Quaternion) -> "Pose":
        """This pose followed by a child frame given relative to it (e.g. a sensor on the ego)."""
        return Pose(self.translation + self.matrix @ np.asarray(translation, float), self.rotation * rotation)

    def to_global(self, points: np.ndarray) -> np.ndarray:
        return points @ self.matrix.T + self.translation

    def from_global(self, points: np.ndarray) -> np.ndarray:
        return (points - self.translation) @ self.matrix


def ego_pose(layout: SceneLayout, t: float) -> Pose:
    """The ego pose (origin on the ground under the rear axle) in the global frame at ``t``."""
    position, yaw, pitch, roll = layout.ego_state(t)
    rotation = (
        Quaternion(axis=[0.0, 0.0, 1.0], angle=layout.heading + yaw)
        * Quaternion(axis=[0.0, 1.0, 0.0], angle=pitch)
        * Quaternion(axis=[1.0, 0.0, 0.0], angle=roll)
    )
    return Pose(layout.to_global(position[None])[0], rotation)


def sensor_pose(layout: SceneLayout, sensor: Sensor, t: float) -> Pose:
    return ego_pose(layout, t).compose(sensor.translation, sensor.rotation)


def ego_velocity(layout: SceneLayout, t: float, dt: float = 1e-3) -> np.ndarray:
    """Global ego velocity (m/s) by central differences of the trajectory."""
    ahead, behind = ego_pose(layout, t + dt).translation, ego_pose(layout, t - dt).translation
    return (ahead - behind) / (2 * dt)
