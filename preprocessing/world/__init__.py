"""A procedural street world written in genuine nuScenes format (camera, LiDAR, radar, tables, maps)."""

from preprocessing.world.generate import generate_world

__all__ = ["generate_world"]
