"""Offline dataset processing: the synthetic nuScenes-format world, ingestion, projection, night synthesis."""
