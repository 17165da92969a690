"""Initialising the trunk from a checkpoint in the facebookresearch/DiT layout (written here, tiny)."""

from __future__ import annotations

import argparse

import pytest
import torch
from safetensors.torch import save_file

from fusion.diffusion.config import ModelConfig
from fusion.diffusion.model import MultimodalDiT
from fusion.diffusion.multitime import MODALITIES
from fusion.diffusion.pretrained import load_reference_dit, read_reference_checkpoint
from preprocessing.errors import UserError

HIDDEN, PATCH, CHANNELS, CLASSES = 32, 2, 4, 10


def reference_checkpoint(depth: int, hidden: int = HIDDEN, learn_sigma: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under the names and shapes of DiT ``models.py`` (class-conditional, learn_sigma)."""
    mlp, out = 4 * hidden, PATCH * PATCH * CHANNELS * (2 if learn_sigma else 1)
    shapes = {
        "pos_embed": (1, 16, hidden),
        "x_embedder.proj.weight": (hidden, CHANNELS, PATCH, PATCH),
        "x_embedder.proj.bias": (hidden,),
        "t_embedder.mlp.0.weight": (hidden, 256),
        "t_embedder.mlp.0.bias": (hidden,),
        "t_embedder.mlp.2.weight": (hidden, hidden),
        "t_embedder.mlp.2.bias": (hidden,),
        "y_embedder.embedding_table.weight": (CLASSES + 1, hidden),
        "final_layer.linear.weight": (out, hidden),
        "final_layer.linear.bias": (out,),
        "final_layer.adaLN_modulation.1.weight": (2 * hidden, hidden),
        "final_layer.adaLN_modulation.1.bias": (2 * hidden,),
    }
    for i in range(depth):
        shapes |= {
            f"blocks.{i}.attn.qkv.weight": (3 * hidden, hidden),
            f"blocks.{i}.attn.qkv.bias": (3 * hidden,),
            f"blocks.{i}.attn.proj.weight": (hidden, hidden),
            f"blocks.{i}.attn.proj.bias": (hidden,),
            f"blocks.{i}.mlp.fc1.weight": (mlp, hidden),
            f"blocks.{i}.mlp.fc1.bias": (mlp,),
            f"blocks.{i}.mlp.fc2.weight": (hidden, mlp),
            f"blocks.{i}.mlp.fc2.bias": (hidden,),
            f"blocks.{i}.adaLN_modulation.1.weight": (6 * hidden, hidden),
            f"blocks.{i}.adaLN_modulation.1.bias": (6 * hidden,),
        }
    generator = torch.Generator().manual_seed(0)
    return {name: torch.randn(shape, generator=generator) for name, shape in shapes.items()}


def small_model(depth=2) -> MultimodalDiT:
    return MultimodalDiT(ModelConfig(patch_size=PATCH, hidden_size=HIDDEN, depth=depth, num_heads=4, latent_size=(4, 6)))


def test_reference_checkpoint_initialises_the_trunk(tmp_path):
    reference = reference_checkpoint(depth=3)
    torch.save(reference, tmp_path / "DiT-tiny.pt")
    model = small_model(depth=2)
    report = load_reference_dit(model, read_reference_checkpoint(tmp_path / "DiT-tiny.pt"))
    state = model.state_dict()

    fresh = {"modality_embed"} | {k for k in state if k.startswith("condition_embedder.")}  # no reference counterpart
    assert len(fresh) == 1 + 2 * len(MODALITIES)
    assert report.initialised == sorted(fresh)
    assert set(report.skipped) == {"pos_embed"} | {k for k in reference if k.startswith("blocks.2.")}
    assert set(report.loaded) == set(state) - fresh
    for key in ("blocks.1.attn.qkv.weight", "blocks.0.mlp.fc2.bias", "t_embedder.mlp.2.weight"):
        assert torch.equal(state[key], reference[key])
    for name in MODALITIES:
        assert torch.equal(state[f"x_embedder.{name}.proj.weight"], reference["x_embedder.proj.weight"])
    null_class = reference["y_embedder.embedding_table.weight"][-1]
    assert torch.equal(state["y_embedder.embedding_table.weight"], null_class.expand(len(MODALITIES), -1))


def test_learn_sigma_output_keeps_the_noise_channels():
    reference = reference_checkpoint(depth=1)
    model = small_model(depth=1)
    load_reference_dit(model, reference)
    tokens = torch.randn(5, HIDDEN)
    ours = model.final_layer.linear(tokens).reshape(5, PATCH, PATCH, CHANNELS)
    weight, bias = reference["final_layer.linear.weight"], reference["final_layer.linear.bias"]
    theirs = (tokens @ weight.T + bias).reshape(5, PATCH, PATCH, 2 * CHANNELS)
    assert torch.allclose(ours, theirs[..., :CHANNELS], atol=1e-5)


def test_mismatched_width_is_skipped_not_fatal(tmp_path):
    save_file(reference_checkpoint(depth=1, hidden=48), tmp_path / "wide.safetensors")
    model = small_model(depth=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = load_reference_dit(model, read_reference_checkpoint(tmp_path / "wide.safetensors"))
    assert report.loaded == ["final_layer.linear.bias"]  # the only tensor whose shape does not involve the width
    assert all("shape" in reason for key, reason in report.skipped.items() if key != "pos_embed")
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items() if k not in report.loaded)
    assert "newly initialised" in report.summary()


def test_pickled_training_checkpoint_is_refused(tmp_path):
    torch.save({"ema": reference_checkpoint(1), "args": argparse.Namespace(model="DiT-XL/2")}, tmp_path / "train.pt")
    with pytest.raises(UserError, match="will not be unpickled"):
        read_reference_checkpoint(tmp_path / "train.pt")
    torch.save({"ema": reference_checkpoint(1)}, tmp_path / "ema.pt")
    assert "blocks.0.attn.qkv.weight" in read_reference_checkpoint(tmp_path / "ema.pt")
