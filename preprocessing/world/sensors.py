"""Simulated sensors: a shaded pinhole camera, a 32-beam spinning LiDAR and automotive radars.

All three ray-cast the same ``SceneGeometry`` and read the same material table, so a LiDAR point
projected into a camera lands on the surface that the camera rendered there.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from preprocessing.pcd import RADAR_DTYPE
from preprocessing.world import materials as mat
from preprocessing.world.geometry import Hits, SceneGeometry
from preprocessing.world.layout import EDGE_LINES, LANE_LINES, SIDEWALK
from preprocessing.world.poses import Pose, ego_pose, ego_velocity
from preprocessing.world.rig import (
    LIDAR_AZIMUTH_STEPS,
    LIDAR_ELEVATIONS_DEG,
    LIDAR_MAX_RANGE,
    RADAR_FOV_DEG,
    RADAR_MAX_RANGE,
    Sensor,
)

# ---------------------------------------------------------------------------------------------
# Surface appearance
# ---------------------------------------------------------------------------------------------

_ASPHALT, _SIDEWALK, _GRASS, _FACADE = (mat.MATERIAL_INDEX[n] for n in ("asphalt", "sidewalk", "grass", "facade"))
_CAR_BODY, _FOLIAGE, _LAMP = (mat.MATERIAL_INDEX[n] for n in ("car_body", "foliage", "lamp"))
_HEADLIGHT, _TAILLIGHT = mat.MATERIAL_INDEX["headlight"], mat.MATERIAL_INDEX["taillight"]
_GROUND_MATERIALS = (_ASPHALT, _SIDEWALK, _GRASS)


@dataclass
class Surface:
    """Per-hit appearance: linear albedo, LiDAR reflectivity and emitted radiance (night only)."""

    albedo: np.ndarray  # [R, 3]
    reflectivity: np.ndarray  # [R]
    emission: np.ndarray  # [R, 3]


def surface(geometry: SceneGeometry, hits: Hits, points: np.ndarray, seed: int) -> Surface:
    """Albedo with procedural textures (lane paint, tiles, windows, noise) at global ``points``."""
    layout = geometry.layout
    n = len(hits.distance)
    material = np.where(hits.hit, hits.material, 0)
    albedo = mat.ALBEDO[material].copy()
    reflectivity = mat.REFLECTIVITY[material].copy()
    emission = np.zeros((n, 3), np.float32)
    road = layout.to_road(np.where(hits.hit[:, None], points, 0.0))
    x, y, z = road[:, 0], road[:, 1], road[:, 2]
    grain = mat.value_noise(x, y, 0.35, seed) * 0.6 + mat.value_noise(x, y, 3.0, seed + 1) * 0.4

    on = hits.hit & (material == _ASPHALT)
    paint = on & mat.lane_paint(x, y, LANE_LINES, EDGE_LINES)
    albedo[on] *= (0.75 + 0.5 * grain[on])[:, None]
    albedo[paint] = (0.65, 0.65, 0.62)
    reflectivity[paint] = 0.7  # retro-reflective paint is bright in LiDAR intensity

    on = hits.hit & (material == _SIDEWALK)
    tile = (np.mod(x, 1.5) < 0.04) | (np.mod(np.abs(y) - SIDEWALK[0], 1.5) < 0.04)
    albedo[on] *= (0.85 + 0.3 * grain[on])[:, None]
    albedo[on & tile] *= 0.6

    for kind in (_GRASS, _FOLIAGE):
        on = hits.hit & (material == kind)
        albedo[on] *= (0.6 + 0.8 * mat.value_noise(x[on] + z[on], y[on] - z[on], 0.5, seed + 2))[:, None]

    objects = layout.objects
    colours = np.array([o.colour if o.colour is not None else (0.0, 0.0, 0.0) for o in objects], np.float32)
    on = hits.hit & (material == _CAR_BODY)
    albedo[on] = colours[hits.object[on]]

    on = hits.hit & (material == _FACADE)
    along = x + y  # road-parallel faces have constant y, gable faces constant x
    windows = on & mat.window_mask(along, z)
    albedo[on] = colours[hits.object[on]] * (0.85 + 0.3 * grain[on])[:, None]
    albedo[windows] = (0.05, 0.07, 0.09)
    reflectivity[windows] = 0.05

    if layout.night:
        lit = windows & (np.mod(mat.window_id(along, z) * 2654435761 + seed, 100) < 35)
        emission[lit] = (1.6, 1.15, 0.6)
        emission[hits.hit & (material == _LAMP)] = (30.0, 24.0, 14.0)
        emission[hits.hit & (material == _HEADLIGHT)] = (20.0, 20.0, 18.0)
        emission[hits.hit & (material == _TAILLIGHT)] = (6.0, 0.2, 0.1)
    return Surface(albedo, reflectivity, emission)


def _subset(hits: Hits, index: np.ndarray) -> Hits:
    return Hits(hits.distance[index], hits.normal[index], hits.object[index], hits.material[index])


# ---------------------------------------------------------------------------------------------
# Camera
# ---------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def camera_rays(sensor: Sensor) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray directions [H·W, 3] in the camera frame through integer pixel centres, and the
    factor [H·W] that turns distance along a ray into camera depth (z)."""
    width, height = sensor.size
    u, v = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    pixels = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1)
    rays = pixels @ np.linalg.inv(sensor.intrinsic).T
    norm = np.linalg.norm(rays, axis=1)
    return rays / norm[:, None], 1.0 / norm


def _sky(directions: np.ndarray, night: bool) -> np.ndarray:
    elevation = np.clip(directions[:, 2], 0.0, 1.0)[:, None]
    if night:
        return (np.array([0.004, 0.005, 0.012]) * (1 - elevation) + np.array([0.001, 0.0015, 0.004]) * elevation).astype(np.float32)
    horizon, zenith = np.array([0.75, 0.80, 0.88]), np.array([0.25, 0.42, 0.80])
    return (horizon * (1 - elevation**0.6) + zenith * elevation**0.6).astype(np.float32)


def _night_lighting(geometry: SceneGeometry, points: np.ndarray, normals: np.ndarray, ego: Pose) -> np.ndarray:
    """Irradiance [R, 3] from street lamps (sodium-warm point lights) and the ego's headlights."""
    layout = geometry.layout
    points, normals = points.astype(np.float32), normals.astype(np.float32)
    light = np.full((len(points), 3), 0.004, np.float32)  # moonlight / sky glow
    ego_road = layout.to_road(ego.translation[None])[0]
    for lamp in layout.lamps:
        if abs(lamp.position[0] - ego_road[0]) > 70.0:
            continue
        to_lamp = layout.to_global(lamp.position[None])[0] - points
        d2 = np.einsum("ij,ij->i", to_lamp, to_lamp)
        cosine = np.clip(np.einsum("ij,ij->i", to_lamp, normals) / np.sqrt(d2 + 1e-9), 0.0, 1.0)
        light += (8.0 * cosine / (d2 + 1.0))[:, None] * np.array([1.0, 0.78, 0.5], np.float32)
    forward = ego.matrix @ np.array([1.0, 0.0, -0.06])
    forward /= np.linalg.norm(forward)
    for side in (-0.7, 0.7):
        source = ego.to_global(np.array([[3.6, side, 0.7]]))[0]
        to_point = points - source
        d2 = np.einsum("ij,ij->i", to_point, to_point) + 1e-9
        cos_axis = to_point @ forward / np.sqrt(d2)
        cone = np.clip((cos_axis - np.cos(np.radians(28.0))) / (1 - np.cos(np.radians(28.0))), 0.0, 1.0) ** 0.7
        cosine = np.clip(-np.einsum("ij,ij->i", to_point, normals) / np.sqrt(d2), 0.0, 1.0)
        light += (40.0 * cone * cosine / (d2 + 1.0))[:, None] * np.array([1.0, 0.97, 0.9], np.float32)
    return light


def _srgb_lut(levels: int = 4096) -> np.ndarray:
    linear = np.linspace(0.0, 1.0, levels)
    srgb = np.where(linear <= 0.0031308, 12.92 * linear, 1.055 * np.power(linear, 1 / 2.4) - 0.055)
    return np.round(srgb * 255.0).astype(np.uint8)


_SRGB = _srgb_lut()


def _sun_irradiance(geometry: SceneGeometry, t: float, points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """Direct sun (with ray-cast shadows) plus sky light, [R, 3]."""
    layout = geometry.layout
    sun = layout.rotation @ layout.sun_direction
    facing = np.clip(normals @ sun, 0.0, 1.0)
    lit = np.flatnonzero(facing > 0)
    shadow = geometry.cast(t, points[lit] + normals[lit] * 0.02, np.broadcast_to(sun, (len(lit), 3)))
    direct = np.zeros(len(points), np.float32)
    direct[lit[~shadow.hit]] = 2.2 * facing[lit[~shadow.hit]]
    sky_light = 0.35 + 0.25 * normals[:, 2]
    return (direct + sky_light)[:, None].astype(np.float32) * np.array([1.0, 0.97, 0.92], np.float32)


def render_camera(
    geometry: SceneGeometry, sensor: Sensor, pose: Pose, t: float, rng: np.random.Generator, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Render one frame. Returns (RGB uint8 [H, W, 3], depth float32 [H, W] camera z, 0 for sky)."""
    width, height = sensor.size
    layout = geometry.layout
    local_rays, depth_factor = camera_rays(sensor)
    directions = local_rays @ pose.matrix.T
    all_hits = geometry.cast(t, pose.translation, directions)
    hit = np.flatnonzero(all_hits.hit)
    hits = _subset(all_hits, hit)  # shade only what the rays hit; the rest is sky
    points = pose.translation + directions[hit] * hits.distance[:, None]
    look = surface(geometry, hits, points, seed)
    if layout.night:
        irradiance = _night_lighting(geometry, points, hits.normal, ego_pose(layout, t))
    else:
        irradiance = _sun_irradiance(geometry, t, points, hits.normal)

    radiance = _sky(directions, layout.night)
    haze = np.exp(-hits.distance / (120.0 if layout.night else 250.0)).astype(np.float32)[:, None]
    radiance[hit] = (look.albedo * irradiance + look.emission) * haze + radiance[hit] * (1 - haze)
    radiance = radiance.reshape(height, width, 3)

    if layout.night:
        glow = np.zeros((height * width, 3), np.float32)
        glow[hit] = look.emission
        glow = glow.reshape(height, width, 3)
        sigma = max(width, height) / 300.0
        radiance += 0.4 * cv2.GaussianBlur(glow, (0, 0), sigma) + 0.1 * cv2.GaussianBlur(glow, (0, 0), sigma * 6)
        signal = np.clip(radiance * 1.8, 0.0, None)  # exposure of a gain-boosted sensor
        # Shot + read noise.
        signal += rng.standard_normal(signal.shape, dtype=np.float32) * np.sqrt(0.002 * signal + 0.0004)
        linear = 1.0 - np.exp(-np.clip(signal, 0.0, None))
    else:
        linear = 1.0 - np.exp(-1.4 * radiance)
    image = _SRGB[np.round(np.clip(linear, 0.0, 1.0) * (len(_SRGB) - 1)).astype(np.int32)]
    depth = np.zeros(height * width, np.float32)
    depth[hit] = hits.distance * depth_factor[hit]
    return image, depth.reshape(height, width)


# ---------------------------------------------------------------------------------------------
# LiDAR
# ---------------------------------------------------------------------------------------------


def lidar_directions() -> tuple[np.ndarray, np.ndarray]:
    """Beam directions [32·A, 3] in the sensor frame and each beam's ring index."""
    elevation = np.radians(LIDAR_ELEVATIONS_DEG)
    azimuth = np.linspace(0.0, 2 * np.pi, LIDAR_AZIMUTH_STEPS, endpoint=False)
    e, a = np.meshgrid(elevation, azimuth, indexing="ij")
    directions = np.stack([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)], axis=-1).reshape(-1, 3)
    rings = np.repeat(np.arange(len(elevation)), len(azimuth))
    return directions, rings


def scan_lidar(
    geometry: SceneGeometry, pose: Pose, t: float, rng: np.random.Generator, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One sweep. Returns (points float32 [N, 5] = x, y, z, intensity, ring in the sensor frame,
    object index [N] of each point)."""
    local, rings = lidar_directions()
    directions = local @ pose.matrix.T
    hits = geometry.cast(t, pose.translation, directions)
    keep = hits.hit & (hits.distance > 1.0) & (hits.distance < LIDAR_MAX_RANGE)
    distance = hits.distance[keep] + rng.normal(0.0, 0.01, keep.sum())
    points_global = pose.translation + directions[keep] * hits.distance[keep, None]
    look = surface(geometry, _subset(hits, keep), points_global, seed)
    incidence = np.abs(np.einsum("ij,ij->i", hits.normal[keep], directions[keep]))
    intensity = np.clip(255.0 * look.reflectivity * (0.3 + 0.7 * incidence) + rng.normal(0, 1.0, keep.sum()), 0, 255)
    xyz = local[keep] * distance[:, None]
    points = np.column_stack([xyz, intensity, rings[keep]]).astype(np.float32)
    return points, hits.object[keep]


# ---------------------------------------------------------------------------------------------
# Radar
# ---------------------------------------------------------------------------------------------

_RETURNS_PER_OBJECT = {"car": 3, "building": 2, "pole": 1, "tree": 1}


def scan_radar(
    geometry: SceneGeometry, pose: Pose, t: float, rng: np.random.Generator, clutter: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    """One radar sweep. Returns (structured ``RADAR_DTYPE`` points in the sensor frame, object index
    per point). Returns are clustered per object like a real radar's cluster list; radial velocities
    follow the objects' and the ego's motion; a ``clutter`` fraction carries invalid or ambiguous
    states that the devkit's default filters reject."""
    layout = geometry.layout
    azimuth = np.radians(np.arange(-RADAR_FOV_DEG, RADAR_FOV_DEG + 1e-9, 0.25))
    local = np.stack([np.cos(azimuth), np.sin(azimuth), np.zeros_like(azimuth)], axis=1)
    directions = local @ pose.matrix.T
    hits = geometry.cast(t, pose.translation, directions)
    material = np.where(hits.hit, hits.material, 0)
    usable = hits.hit & (hits.distance < RADAR_MAX_RANGE) & ~np.isin(material, _GROUND_MATERIALS)

    chosen = []
    for index in np.unique(hits.object[usable]):
        rays = np.flatnonzero(usable & (hits.object == index))
        count = min(len(rays), _RETURNS_PER_OBJECT.get(layout.objects[index].kind, 1))
        chosen.extend(rng.choice(rays, size=count, replace=False))
    chosen = np.sort(np.asarray(chosen, dtype=np.int64))

    points = np.zeros(len(chosen), RADAR_DTYPE)
    if len(chosen) == 0:
        return points, np.zeros(0, np.int32)
    xy = local[chosen, :2] * hits.distance[chosen, None]
    radial_local = local[chosen]
    radial_global = directions[chosen]
    object_velocity = np.array([layout.rotation @ layout.objects[i].velocity_vector for i in hits.object[chosen]])
    sensor_velocity = ego_velocity(layout, t)
    v_absolute = np.einsum("ij,ij->i", object_velocity, radial_global)
    v_relative = np.einsum("ij,ij->i", object_velocity - sensor_velocity, radial_global)
    points["x"], points["y"], points["z"] = xy[:, 0], xy[:, 1], 0.0
    points["vx"], points["vy"] = (v_relative[:, None] * radial_local[:, :2]).T
    points["vx_comp"], points["vy_comp"] = (v_absolute[:, None] * radial_local[:, :2]).T
    moving = np.linalg.norm(object_velocity, axis=1) > 0.3
    points["dyn_prop"] = np.where(moving, 0, 1)
    points["id"] = np.arange(len(chosen))
    points["rcs"] = mat.RCS[hits.material[chosen]] + rng.normal(0.0, 1.5, len(chosen))
    points["is_quality_valid"] = 1
    points["ambig_state"] = 3
    points["x_rms"], points["y_rms"], points["vx_rms"], points["vy_rms"] = 3, 3, 1, 1
    points["pdh0"] = 1
    noisy = rng.random(len(chosen)) < clutter
    points["invalid_state"][noisy] = rng.choice([1, 2, 6, 7], size=noisy.sum())
    ambiguous = ~noisy & (rng.random(len(chosen)) < clutter / 3)
    points["ambig_state"][ambiguous] = 1
    return points, hits.object[chosen]
