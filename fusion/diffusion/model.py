"""Multimodal DiT with multi-time adaLN-Zero conditioning (SPEC §5 "Network").

Module and parameter names follow facebookresearch/DiT ``models.py`` (``x_embedder``, ``t_embedder``,
``y_embedder.embedding_table``, ``blocks.N.{norm1,attn.qkv,attn.proj,norm2,mlp.fc1,mlp.fc2,
adaLN_modulation.1}``, ``final_layer.{linear,adaLN_modulation.1}``) so that an ImageNet DiT state dict
initialises the shared trunk (see ``pretrained``). Differences from the reference:

- ``x_embedder`` holds one timm ``PatchEmbed`` per modality (``x_embedder.<modality>.proj``);
- every token gets the fixed 2-D sin-cos position of its patch plus a learned ``modality_embed``;
- ``y_embedder`` embeds the *modality* (not an ImageNet class) into the conditioning vector, and each
  modality i has its own conditioning c_i = t_embedder(τ_i) + y_embedder(i): every token is modulated
  by the time of its own modality (multi-time);
- absent slots (``presence`` False) are replaced by noise and their τ forced to T inside ``forward``,
  so their input latents cannot influence anything;
- a position-matched condition path (``condition_embedder``, config ``condition_path``): every clean
  condition (present, τ = 0) is patch-embedded by its own layer and added to the tokens of *every* slot
  at the same grid position. Joint attention alone had to discover that a day token should read the night
  token at its own position; on the demo world a 2000-step DiT never did (held-out ε-error identical with
  and without conditions). With the path the conditions are used from the first steps.

Shapes (B batch, M modalities, C latent channels, h×w latent grid, p patch, L = (h/p)(w/p) tokens per
modality, D hidden size):
    latents [B, M, C, h, w] → tokens [B, M, L, D] → blocks (attention over all M·L tokens) → eps [B, M, C, h, w]
"""

from __future__ import annotations

import torch
from diffusers.models.embeddings import get_2d_sincos_pos_embed_from_grid, get_timestep_embedding
from timm.models.vision_transformer import Attention, Mlp, PatchEmbed
from torch import nn
from torch.utils.checkpoint import checkpoint

from fusion.diffusion.config import ModelConfig
from fusion.diffusion.multitime import MODALITIES


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """x [B, M, L, D], shift/scale [B, M, 1, D]: per-modality affine modulation."""
    return x * (1 + scale) + shift


def patch_tokens(embedders: nn.ModuleDict, latents: torch.Tensor) -> torch.Tensor:
    """latents [B, M, C, h, w] → [B, M, L, D], each slot through its modality's ``PatchEmbed``."""
    return torch.stack([embedders[name](latents[:, index]) for index, name in enumerate(MODALITIES)], dim=1)


def sincos_pos_embed(dim: int, grid_h: int, grid_w: int) -> torch.Tensor:
    """[grid_h·grid_w, dim] fixed 2-D sin-cos positions, laid out as the reference DiT (row-major, w first)."""
    grid = torch.meshgrid(
        torch.arange(grid_w, dtype=torch.float32), torch.arange(grid_h, dtype=torch.float32), indexing="xy"
    )
    return get_2d_sincos_pos_embed_from_grid(dim, torch.stack(grid), output_type="pt").float()


class TimestepEmbedder(nn.Module):
    """Scalar timesteps [N] → [N, D]: DiT's cos-sin frequency embedding followed by an MLP."""

    def __init__(self, hidden_size: int, frequency_embedding_size: int = 256):
        super().__init__()
        self.frequency_embedding_size = frequency_embedding_size
        self.mlp = nn.Sequential(
            nn.Linear(frequency_embedding_size, hidden_size),
            nn.SiLU(),
            nn.Linear(hidden_size, hidden_size),
        )

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        frequencies = get_timestep_embedding(
            t.float(), self.frequency_embedding_size, flip_sin_to_cos=True, downscale_freq_shift=0
        )
        return self.mlp(frequencies.to(self.mlp[0].weight.dtype))


class ModalityEmbedder(nn.Module):
    """The reference ``LabelEmbedder`` slot, holding one conditioning vector per modality: → [M, D]."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.embedding_table = nn.Embedding(len(MODALITIES), hidden_size)

    def forward(self) -> torch.Tensor:
        return self.embedding_table.weight


class DiTBlock(nn.Module):
    """adaLN-Zero transformer block; modulation parameters come per modality. x [B, M, L, D], c [B, M, D]."""

    def __init__(self, hidden_size: int, num_heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.attn = Attention(hidden_size, num_heads=num_heads, qkv_bias=True)
        self.norm2 = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.mlp = Mlp(
            in_features=hidden_size,
            hidden_features=int(hidden_size * mlp_ratio),
            act_layer=lambda: nn.GELU(approximate="tanh"),
        )
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 6 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift_msa, scale_msa, gate_msa, shift_mlp, scale_mlp, gate_mlp = (
            self.adaLN_modulation(c).unsqueeze(2).chunk(6, dim=-1)
        )
        modalities = x.shape[1]
        attended = self.attn(modulate(self.norm1(x), shift_msa, scale_msa).flatten(1, 2))
        x = x + gate_msa * attended.unflatten(1, (modalities, -1))
        return x + gate_mlp * self.mlp(modulate(self.norm2(x), shift_mlp, scale_mlp))


class FinalLayer(nn.Module):
    """Per-token projection back to patches. x [B, M, L, D], c [B, M, D] → [B, M, L, p·p·C]."""

    def __init__(self, hidden_size: int, patch_size: int, out_channels: int):
        super().__init__()
        self.norm_final = nn.LayerNorm(hidden_size, elementwise_affine=False, eps=1e-6)
        self.linear = nn.Linear(hidden_size, patch_size * patch_size * out_channels)
        self.adaLN_modulation = nn.Sequential(nn.SiLU(), nn.Linear(hidden_size, 2 * hidden_size))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.adaLN_modulation(c).unsqueeze(2).chunk(2, dim=-1)
        return self.linear(modulate(self.norm_final(x), shift, scale))


class MultimodalDiT(nn.Module):
    """ε-prediction network over the four modality slots, conditioned on the multi-time vector τ."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.gradient_checkpointing = False
        hidden, patch, channels = config.hidden_size, config.patch_size, config.latent_channels
        height, width = config.latent_size
        self.grid = (height // patch, width // patch)
        self.x_embedder = nn.ModuleDict(
            {name: PatchEmbed((height, width), patch, channels, hidden) for name in MODALITIES}
        )
        self.t_embedder = TimestepEmbedder(hidden)
        self.y_embedder = ModalityEmbedder(hidden)
        self.condition_embedder = (
            nn.ModuleDict({name: PatchEmbed((height, width), patch, channels, hidden) for name in MODALITIES})
            if config.condition_path
            else None
        )
        self.modality_embed = nn.Parameter(torch.zeros(len(MODALITIES), 1, hidden))
        self.register_buffer("pos_embed", sincos_pos_embed(hidden, *self.grid)[None], persistent=False)
        # Noise that stands in for absent modalities when the caller gives none (e.g. an exported graph):
        # one fixed draw from N(0, I), identical on every construction.
        fixed = torch.randn((len(MODALITIES), channels, height, width), generator=torch.Generator().manual_seed(0))
        self.register_buffer("absent_noise", fixed, persistent=False)
        self.blocks = nn.ModuleList(
            DiTBlock(hidden, config.num_heads, config.mlp_ratio) for _ in range(config.depth)
        )
        self.final_layer = FinalLayer(hidden, patch, channels)
        self.initialize_weights()

    def initialize_weights(self) -> None:
        """The reference DiT initialisation: xavier linears, zeroed adaLN and output layers (adaLN-Zero)."""

        def basic_init(module: nn.Module) -> None:
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

        self.apply(basic_init)
        embedders = list(self.x_embedder.values()) + list((self.condition_embedder or {}).values())
        for embedder in embedders:
            nn.init.xavier_uniform_(embedder.proj.weight.view(embedder.proj.weight.shape[0], -1))
            nn.init.zeros_(embedder.proj.bias)
        nn.init.normal_(self.y_embedder.embedding_table.weight, std=0.02)
        nn.init.normal_(self.modality_embed, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[0].weight, std=0.02)
        nn.init.normal_(self.t_embedder.mlp[2].weight, std=0.02)
        for layer in [block.adaLN_modulation[-1] for block in self.blocks] + [
            self.final_layer.adaLN_modulation[-1],
            self.final_layer.linear,
        ]:
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def embed(self, latents: torch.Tensor, conditioning: torch.Tensor) -> torch.Tensor:
        """latents [B, M, C, h, w], conditioning [B, M] bool → tokens [B, M, L, D]
        (patch embedding + position + modality, plus the clean conditions at the same position)."""
        tokens = patch_tokens(self.x_embedder, latents) + self.pos_embed[:, None] + self.modality_embed
        if self.condition_embedder is None:
            return tokens
        conditions = patch_tokens(self.condition_embedder, latents)
        return tokens + (conditions * conditioning[:, :, None, None].to(conditions.dtype)).sum(1, keepdim=True)

    def unpatchify(self, x: torch.Tensor) -> torch.Tensor:
        """[B, M, L, p·p·C] → [B, M, C, h, w] (the reference layout: patch rows, patch cols, channels)."""
        patch, channels = self.config.patch_size, self.config.latent_channels
        grid_h, grid_w = self.grid
        x = x.unflatten(2, (grid_h, grid_w)).unflatten(-1, (patch, patch, channels))  # [B, M, gh, gw, p, p, C]
        return x.permute(0, 1, 6, 2, 4, 3, 5).flatten(5, 6).flatten(3, 4)

    def forward(
        self,
        latents: torch.Tensor,
        tau: torch.Tensor,
        presence: torch.Tensor,
        noise: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Predict the noise of every slot.

        latents  [B, M, C, h, w]  normalised latents; target slots already diffused to their τ
        tau      [B, M]           per-modality timestep (0 clean … T absent), any numeric dtype
        presence [B, M]           bool/0-1; False slots are absent: their latents and τ are ignored
        noise    [B, M, C, h, w]  what absent slots hold instead (default: the fixed ``absent_noise``)
        returns  [B, M, C, h, w]  ε̂ (meaningful for the diffused slots)
        """
        present = presence.bool()
        conditioning = present & (tau == 0)
        if noise is None:
            noise = self.absent_noise.expand_as(latents)
        latents = torch.where(present[:, :, None, None, None], latents, noise.to(latents.dtype))
        tau = torch.where(present, tau.float(), torch.full_like(tau, self.config.num_train_timesteps).float())
        c = self.t_embedder(tau.flatten()).unflatten(0, tau.shape) + self.y_embedder()  # [B, M, D]
        x = self.embed(latents, conditioning)
        for block in self.blocks:
            if self.gradient_checkpointing and self.training:
                x = checkpoint(block, x, c, use_reentrant=False)
            else:
                x = block(x, c)
        return self.unpatchify(self.final_layer(x, c))
