"""A procedural street world written in genuine nuScenes format (camera, LiDAR, radar, tables, maps)."""


def __getattr__(name: str):
    # Lazy, so that the CLI can list commands without importing open3d.
    if name == "generate_world":
        from preprocessing.world.generate import generate_world

        return generate_world
    raise AttributeError(name)


__all__ = ["generate_world"]
