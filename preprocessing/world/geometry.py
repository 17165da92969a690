"""Triangle meshes of a laid-out scene and open3d ray-casting scenes at any instant.

Static objects are merged once into one global mesh; moving objects are re-posed per timestamp.
Every triangle keeps the index of its object and its material, so a ray hit tells what it hit.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
import open3d as o3d

from preprocessing.world.layout import Primitive, SceneLayout, WorldObject
from preprocessing.world.materials import MATERIAL_INDEX

o3d.utility.set_verbosity_level(o3d.utility.VerbosityLevel.Error)


def primitive_mesh(primitive: Primitive) -> tuple[np.ndarray, np.ndarray]:
    """Vertices [V, 3] and triangles [T, 3] of one primitive in its object's frame."""
    if primitive.shape == "box":
        mesh = o3d.t.geometry.TriangleMesh.create_box(*primitive.size)
        offset = np.asarray(primitive.centre) - np.asarray(primitive.size) / 2
    elif primitive.shape == "cylinder":
        mesh = o3d.t.geometry.TriangleMesh.create_cylinder(*primitive.size, resolution=12, split=1)
        offset = np.asarray(primitive.centre)
    elif primitive.shape == "sphere":
        mesh = o3d.t.geometry.TriangleMesh.create_sphere(*primitive.size, resolution=10)
        offset = np.asarray(primitive.centre)
    else:
        raise ValueError(f"unknown primitive shape {primitive.shape!r}")
    return mesh.vertex.positions.numpy() + offset, mesh.triangle.indices.numpy()


def yaw_matrix(yaw: float) -> np.ndarray:
    c, s = np.cos(yaw), np.sin(yaw)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


@dataclass
class ObjectMesh:
    vertices: np.ndarray  # [V, 3] object frame
    triangles: np.ndarray  # [T, 3]
    materials: np.ndarray  # [T] material index


def object_mesh(obj: WorldObject) -> ObjectMesh:
    vertices, triangles, materials, base = [], [], [], 0
    for primitive in obj.primitives:
        v, t = primitive_mesh(primitive)
        vertices.append(v)
        triangles.append(t + base)
        materials.append(np.full(len(t), MATERIAL_INDEX[primitive.material], np.int16))
        base += len(v)
    return ObjectMesh(np.concatenate(vertices), np.concatenate(triangles), np.concatenate(materials))


@dataclass
class MergedMesh:
    vertices: np.ndarray  # [V, 3] float32, global frame
    triangles: np.ndarray  # [T, 3] uint32
    objects: np.ndarray  # [T] int32 object index into layout.objects
    materials: np.ndarray  # [T] int16


def merge(layout: SceneLayout, indices: list[int], meshes: dict[int, ObjectMesh], t: float) -> MergedMesh:
    """Pose the objects ``indices`` at time ``t`` and merge them into one global mesh."""
    vertices, triangles, objects, materials, base = [], [], [], [], 0
    for index in indices:
        obj, mesh = layout.objects[index], meshes[index]
        road = mesh.vertices @ yaw_matrix(obj.yaw).T + obj.position_at(t)
        vertices.append(layout.to_global(road))
        triangles.append(mesh.triangles + base)
        objects.append(np.full(len(mesh.triangles), index, np.int32))
        materials.append(mesh.materials)
        base += len(mesh.vertices)
    if not indices:
        return MergedMesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.uint32), np.zeros(0, np.int32), np.zeros(0, np.int16))
    return MergedMesh(
        np.concatenate(vertices).astype(np.float32),
        np.concatenate(triangles).astype(np.uint32),
        np.concatenate(objects),
        np.concatenate(materials),
    )


@dataclass
class Hits:
    """Ray-cast results, one entry per ray (misses have ``distance = inf`` and ``object = -1``)."""

    distance: np.ndarray  # [R] along the (unit) ray direction
    normal: np.ndarray  # [R, 3] unit surface normal (global frame), facing the ray origin
    object: np.ndarray  # [R] object index or −1
    material: np.ndarray  # [R] material index or −1

    @property
    def hit(self) -> np.ndarray:
        return self.object >= 0


@dataclass
class _ScenePerInstant:
    """The ray-casting scene of the last instant cast against, and its meshes in open3d's geometry order."""

    time: float | None = None
    scene: o3d.t.geometry.RaycastingScene | None = None
    meshes: list[MergedMesh] = field(default_factory=list)


class SceneGeometry:
    """Meshes of one scene; ``cast(t, origins, directions)`` ray-casts the scene as it is at time ``t``."""

    def __init__(self, layout: SceneLayout):
        self.layout = layout
        meshes = {i: object_mesh(obj) for i, obj in enumerate(layout.objects)}
        self.dynamic = [i for i, obj in enumerate(layout.objects) if obj.velocity != 0.0]
        static = [i for i, obj in enumerate(layout.objects) if obj.velocity == 0.0]
        self._meshes = meshes
        self.static_mesh = merge(layout, static, meshes, 0.0)
        self._cache = _ScenePerInstant()

    def relit(self, layout: SceneLayout) -> SceneGeometry:
        """The same geometry under the lighting of ``layout``, a layout of the same objects (the day twin
        of a night layout). Meshes and the ray-casting cache are shared, so a frame rendered under both
        lightings at one instant builds the scene once."""
        if layout.objects is not self.layout.objects:
            raise ValueError("relit needs a layout of the very same objects")
        twin = copy.copy(self)
        twin.layout = layout
        return twin

    def mesh_at(self, t: float) -> MergedMesh:
        """The moving objects' merged mesh at time ``t``."""
        return merge(self.layout, self.dynamic, self._meshes, t)

    def _scene_at(self, t: float) -> _ScenePerInstant:
        cache = self._cache
        if cache.time != t:
            scene = o3d.t.geometry.RaycastingScene()
            meshes = [self.static_mesh, self.mesh_at(t)]
            for mesh in meshes:
                scene.add_triangles(o3d.core.Tensor(mesh.vertices), o3d.core.Tensor(mesh.triangles))
            cache.time, cache.scene, cache.meshes = t, scene, meshes
        return cache

    def cast(self, t: float, origins: np.ndarray, directions: np.ndarray) -> Hits:
        """Cast rays (global frame, unit ``directions`` [R, 3]) against the scene at time ``t``."""
        cached = self._scene_at(t)
        rays = np.concatenate([np.broadcast_to(origins, directions.shape), directions], axis=1).astype(np.float32)
        result = cached.scene.cast_rays(o3d.core.Tensor(rays))
        distance = result["t_hit"].numpy().astype(np.float64)
        geometry = result["geometry_ids"].numpy().astype(np.int64)
        primitive = result["primitive_ids"].numpy().astype(np.int64)
        normal = result["primitive_normals"].numpy().astype(np.float64)
        hit = np.isfinite(distance)
        objects = np.full(len(distance), -1, np.int32)
        materials = np.full(len(distance), -1, np.int16)
        for geometry_id, mesh in enumerate(cached.meshes):
            mask = hit & (geometry == geometry_id)
            objects[mask] = mesh.objects[primitive[mask]]
            materials[mask] = mesh.materials[primitive[mask]]
        # Face normals towards the viewer (open3d's primitive normals follow the winding order).
        flip = np.einsum("ij,ij->i", normal, directions) > 0
        normal[flip] *= -1
        return Hits(distance, normal, objects, materials)
