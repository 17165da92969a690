"""Masked multi-time latent diffusion (MLD): multimodal DiT, training, night→day enhancement (SPEC §5)."""
