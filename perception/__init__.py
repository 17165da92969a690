"""Per-modality autoencoders (SPEC §5); in progress, see issue 4."""
