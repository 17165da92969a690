"""Procedural street scenes: what stands where and how it moves, before any mesh exists.

A scene is laid out in a local road frame (x along the road, y to the left, z up) and placed in
the global frame by a rigid transform (random heading and offset), so that every pose the devkit
sees has a non-trivial rotation. Cross-section of the road (y, metres):

    building | sidewalk 9..13 | parking 7..9 | lanes −7..7 (4 × 3.5 m) | parking | sidewalk | building

Right-hand traffic: lanes at y < 0 drive +x (the ego uses y = −5.25), lanes at y > 0 drive −x.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from preprocessing.world.materials import CAR_PAINTS, FACADE_PAINTS

LANE_CENTRES = (-5.25, -1.75, 1.75, 5.25)
LANE_LINES, EDGE_LINES = (-3.5, 3.5), (-7.0, -0.1, 0.1, 7.0)
ROAD_HALF_WIDTH, PARKING_Y, SIDEWALK = 9.0, 8.0, (9.0, 13.0)
SIDEWALK_HEIGHT = 0.15
EGO_LANE = LANE_CENTRES[0]
CAR_SIZE = (4.5, 1.85, 1.5)  # length, width, height (m)
MAP_MARGIN = 60.0  # m of map around the scene


@dataclass(frozen=True)
class Primitive:
    """A mesh primitive in its object's frame."""

    shape: str  # "box" | "cylinder" | "sphere"
    size: tuple[float, ...]  # box: (lx, ly, lz); cylinder: (radius, height); sphere: (radius,)
    centre: tuple[float, float, float]
    material: str


@dataclass
class WorldObject:
    """A scene object: primitives in its own frame plus a (possibly moving) pose in the road frame."""

    kind: str  # building | car | pole | tree
    primitives: list[Primitive]
    position: np.ndarray  # road-frame position at t = 0 (m)
    yaw: float  # heading in the road frame (rad)
    velocity: float = 0.0  # along road x (m/s)
    colour: np.ndarray | None = None  # paint (cars) or facade colour (buildings)
    size: tuple[float, float, float] | None = None  # annotation box (length, width, height)
    annotated: bool = False

    def position_at(self, t: float) -> np.ndarray:
        return self.position + np.array([self.velocity * t, 0.0, 0.0])

    @property
    def velocity_vector(self) -> np.ndarray:
        return np.array([self.velocity, 0.0, 0.0])


@dataclass
class Lamp:
    position: np.ndarray  # lamp head in the road frame


@dataclass
class SceneLayout:
    length: float  # road length (m), road spans x ∈ [−40, length]
    objects: list[WorldObject]
    lamps: list[Lamp]
    ego_speed: float
    heading: float  # road-frame → global rotation about z (rad)
    offset: np.ndarray  # road-frame → global translation (m)
    night: bool
    sun_direction: np.ndarray = field(default_factory=lambda: np.array([0.3, -0.5, 0.8]))

    # --- road frame ↔ global frame -------------------------------------------------------------
    @property
    def rotation(self) -> np.ndarray:
        c, s = np.cos(self.heading), np.sin(self.heading)
        return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])

    def to_global(self, points: np.ndarray) -> np.ndarray:
        return points @ self.rotation.T + self.offset

    def to_road(self, points: np.ndarray) -> np.ndarray:
        return (points - self.offset) @ self.rotation

    # --- the ego vehicle -----------------------------------------------------------------------
    def ego_state(self, t: float) -> tuple[np.ndarray, float, float, float]:
        """Ego position (road frame, on the ground), yaw, pitch and roll at time ``t`` (s)."""
        sway, rate = 0.25, 0.35
        x = self.ego_speed * t
        y = EGO_LANE + sway * np.sin(rate * t)
        yaw = np.arctan2(sway * rate * np.cos(rate * t), self.ego_speed)
        pitch = 0.004 * np.sin(1.3 * t)
        roll = 0.003 * np.sin(0.9 * t + 1.0)
        return np.array([x, y, 0.0]), float(yaw), float(pitch), float(roll)


def _car(rng: np.random.Generator, position, yaw: float, velocity: float) -> WorldObject:
    length, width, height = CAR_SIZE
    front = length / 2 - 0.05
    primitives = [
        Primitive("box", (length, width, 0.75), (0.0, 0.0, 0.2 + 0.375), "car_body"),
        Primitive("box", (length * 0.55, width * 0.92, height - 0.95), (-0.2, 0.0, 0.95 + (height - 0.95) / 2), "car_glass"),
        Primitive("box", (0.12, 0.35, 0.14), (front, 0.6, 0.75), "headlight"),
        Primitive("box", (0.12, 0.35, 0.14), (front, -0.6, 0.75), "headlight"),
        Primitive("box", (0.12, 0.3, 0.12), (-front, 0.65, 0.8), "taillight"),
        Primitive("box", (0.12, 0.3, 0.12), (-front, -0.65, 0.8), "taillight"),
    ]
    paint = CAR_PAINTS[rng.integers(len(CAR_PAINTS))]
    return WorldObject("car", primitives, np.asarray(position, float), yaw, velocity, paint, CAR_SIZE, True)


def _building(rng: np.random.Generator, x0: float, side: int) -> tuple[WorldObject, float]:
    width = rng.uniform(12.0, 28.0)
    depth = rng.uniform(10.0, 18.0)
    height = rng.choice([2, 3, 4, 5, 6]) * 3.2 + rng.uniform(0.3, 1.5)
    setback = rng.uniform(0.0, 2.0)
    y_near = SIDEWALK[1] + setback
    centre = np.array([x0 + width / 2, side * (y_near + depth / 2), 0.0])
    primitives = [Primitive("box", (width, depth, height), (0.0, 0.0, height / 2), "facade")]
    colour = FACADE_PAINTS[rng.integers(len(FACADE_PAINTS))]
    return WorldObject("building", primitives, centre, 0.0, colour=colour), width + rng.uniform(0.5, 4.0)


def _pole(x: float, side: int) -> tuple[WorldObject, Lamp]:
    y = side * (SIDEWALK[0] + 0.6)
    height, arm = 7.0, 1.6
    primitives = [
        Primitive("cylinder", (0.12, height), (0.0, 0.0, height / 2), "pole"),
        Primitive("box", (0.15, arm, 0.12), (0.0, -side * arm / 2, height), "pole"),
        Primitive("box", (0.5, 0.3, 0.15), (0.0, -side * arm, height - 0.12), "lamp"),
    ]
    lamp = Lamp(np.array([x, y - side * arm, height - 0.25]))
    return WorldObject("pole", primitives, np.array([x, y, SIDEWALK_HEIGHT]), 0.0), lamp


def _tree(rng: np.random.Generator, x: float, side: int) -> WorldObject:
    trunk_height = rng.uniform(2.0, 3.0)
    crown = rng.uniform(1.4, 2.2)
    primitives = [
        Primitive("cylinder", (0.18, trunk_height), (0.0, 0.0, trunk_height / 2), "trunk"),
        Primitive("sphere", (crown,), (0.0, 0.0, trunk_height + crown * 0.8), "foliage"),
    ]
    return WorldObject("tree", primitives, np.array([x, side * (SIDEWALK[0] + 2.6), SIDEWALK_HEIGHT]), 0.0)


def _ground(length: float) -> list[WorldObject]:
    """Road, sidewalks and verges as thin boxes whose top faces are the walkable surfaces."""
    x0, x1 = -60.0, length + 20.0
    span, mid = x1 - x0, (x0 + x1) / 2
    road = Primitive("box", (span, 2 * ROAD_HALF_WIDTH, 0.2), (0.0, 0.0, -0.1), "asphalt")
    pieces = [road]
    for side in (-1, 1):
        walk_width = SIDEWALK[1] - SIDEWALK[0]
        centre_y = side * (SIDEWALK[0] + walk_width / 2)
        pieces.append(Primitive("box", (span, walk_width, 0.2 + SIDEWALK_HEIGHT), (0.0, centre_y, (SIDEWALK_HEIGHT - 0.2) / 2), "sidewalk"))
        pieces.append(Primitive("box", (span, 32.0, 0.2), (0.0, side * (SIDEWALK[1] + 16.0), -0.1), "grass"))
    return [WorldObject("ground", pieces, np.array([mid, 0.0, 0.0]), 0.0)]


def make_layout(rng: np.random.Generator, duration: float, night: bool) -> SceneLayout:
    """Lay out one street for an ego drive of ``duration`` seconds."""
    ego_speed = rng.uniform(6.0, 10.0)
    length = ego_speed * duration + 140.0
    objects: list[WorldObject] = _ground(length)
    lamps: list[Lamp] = []

    for side in (-1, 1):
        x = -40.0 + rng.uniform(0.0, 5.0)
        while x < length:
            if rng.random() < 0.85:
                building, advance = _building(rng, x, side)
                objects.append(building)
            else:
                advance = rng.uniform(8.0, 15.0)  # a gap between buildings
            x += advance
        for x in np.arange(-30.0 + rng.uniform(0, 10), length, 28.0):
            pole, lamp = _pole(float(x), side)
            objects.append(pole)
            lamps.append(lamp)
            if rng.random() < 0.7:
                objects.append(_tree(rng, float(x) + 14.0, side))
        # Parked cars along the kerb, with gaps.
        x = -35.0
        while x < length:
            x += rng.uniform(5.5, 20.0)
            if rng.random() < 0.6:
                objects.append(_car(rng, (x, side * PARKING_Y, 0.0), 0.0 if side < 0 else np.pi, 0.0))

    # Moving traffic: one speed per lane, so cars in a lane never collide. The ego lane's traffic
    # drives a little faster than the ego, starting ahead of it.
    for lane in LANE_CENTRES:
        direction = 1.0 if lane < 0 else -1.0
        speed = direction * (ego_speed + rng.uniform(0.5, 2.5) if lane == EGO_LANE else rng.uniform(4.0, 12.0))
        start = 15.0 if lane == EGO_LANE else -20.0
        for x in np.arange(start + rng.uniform(0, 10), length, rng.uniform(18.0, 35.0)):
            if rng.random() < 0.55:
                objects.append(_car(rng, (float(x), lane, 0.0), 0.0 if direction > 0 else np.pi, speed))

    heading = rng.uniform(0.0, 2.0 * np.pi)
    sun = np.array([rng.uniform(-0.6, 0.6), rng.uniform(-0.6, 0.6), rng.uniform(0.5, 0.9)])
    layout = SceneLayout(length, objects, lamps, ego_speed, heading, np.zeros(3), night, sun / np.linalg.norm(sun))
    # Place the scene so that the map raster (global x, y ≥ 0) contains it with a margin.
    layout.offset = MAP_MARGIN - (_footprint(length) @ layout.rotation.T).min(axis=0)
    layout.offset[2] = 0.0
    return layout


def _footprint(length: float) -> np.ndarray:
    """Corners (road frame) of the area the map must cover."""
    return np.array([[x, y, 0.0] for x in (-60.0, length + 20.0) for y in (-45.0, 45.0)])


def map_extent(layout: SceneLayout) -> tuple[float, float]:
    """Global (x, y) size (m) of the map raster that covers the scene with the placement margin."""
    corners = layout.to_global(_footprint(layout.length))
    return float(corners[:, 0].max() + MAP_MARGIN), float(corners[:, 1].max() + MAP_MARGIN)
