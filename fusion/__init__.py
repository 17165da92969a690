"""Fusion stage: latent diffusion and information estimators (SPEC §5–7); in progress."""
