"""Model folders, the modality API and pretrained loading, on tiny randomly initialised autoencoders."""

from __future__ import annotations

import pickle

import pytest
import torch
from diffusers import AutoencoderKL
from rich.console import Console

from perception import load_autoencoders
from perception.config import ArchitectureConfig, AutoencodersConfig
from perception.model import ModalityAutoencoder
from perception.normalization import LatentNormalizer
from perception.train import initial_model, train_autoencoder
from perception.vae import build_vae, load_vae
from preprocessing.config import load_config
from preprocessing.dataset import ShardDataset
from preprocessing.errors import UserError
from tests.fixtures.autoencoders import TINY_CONFIG

H, W = 32, 48
CHANNELS = {"camera": 3, "lidar": 3, "radar": 4}


@pytest.fixture(scope="module")
def config() -> AutoencodersConfig:
    return load_config(TINY_CONFIG, AutoencodersConfig)


def modality_input(name: str, batch: int = 2, seed: int = 0) -> torch.Tensor:
    """A batch in the ShardDataset layout of ``name`` (sparse maps: positive values where valid)."""
    g = torch.Generator().manual_seed(seed)
    if name == "camera":
        return torch.rand(batch, 3, H, W, generator=g) * 2 - 1
    valid = (torch.rand(batch, 1, H, W, generator=g) < 0.3).float()
    values = 1 + 30 * torch.rand(batch, CHANNELS[name] - 1, H, W, generator=g)
    return torch.cat([values * valid, valid], dim=1)


def with_random_normalizer(model: ModalityAutoencoder, seed: int) -> ModalityAutoencoder:
    g = torch.Generator().manual_seed(seed)
    model.normalizer = LatentNormalizer(
        torch.randn(4, H // 8, W // 8, generator=g), torch.rand(4, H // 8, W // 8, generator=g) + 0.5
    )
    return model.eval()


@pytest.fixture(scope="module")
def saved(config, tmp_path_factory):
    """Random tiny AEs (with non-trivial normalisation) saved with save_pretrained."""
    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("perception_models")
    models = {
        name: with_random_normalizer(initial_model(name, config, None), seed) for seed, name in enumerate(CHANNELS)
    }
    for name, model in models.items():
        model.save_pretrained(root / name)
    return root, models


def forbid_unpickling(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("loading must never unpickle")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_save_load_gives_identical_outputs_without_unpickling(saved, name, monkeypatch):
    root, models = saved
    forbid_unpickling(monkeypatch)
    loaded = ModalityAutoencoder.from_pretrained(root / name)
    files = {p.suffix for p in (root / name).rglob("*") if p.is_file()}
    assert files <= {".json", ".safetensors"}
    x = modality_input(name)
    with torch.no_grad():
        z, z_loaded = models[name].encode(x), loaded.encode(x)
        assert torch.equal(z, z_loaded)
        assert torch.equal(models[name].decode(z), loaded.decode(z))
    assert torch.equal(loaded.normalizer.std, models[name].normalizer.std)


@pytest.mark.parametrize("name", list(CHANNELS))
def test_latents_share_one_grid_and_reconstructions_keep_the_layout(saved, name):
    root, models = saved
    model = models[name]
    x = modality_input(name, batch=3)
    with torch.no_grad():
        z = model.encode(x)
        assert z.shape == (3, 4, H // 8, W // 8)
        assert torch.allclose(z, model.normalizer.normalize(model.raw_latent(x)), atol=1e-6)
        assert torch.allclose(model.normalizer.denormalize(z), model.raw_latent(x), atol=1e-5)
        reconstruction = model.decode(z)
        assert torch.equal(model.encoder(x), z)  # the export wrappers are the API
        assert torch.equal(model.decoder(z), reconstruction)
    assert reconstruction.shape == x.shape
    if name == "camera":
        assert reconstruction.min() >= -1 and reconstruction.max() <= 1
    else:
        valid = reconstruction[:, -1]
        assert set(valid.unique().tolist()) <= {0.0, 1.0}
        assert torch.all(reconstruction[:, :-1][(valid == 0).unsqueeze(1).expand_as(reconstruction[:, :-1])] == 0)


def test_wrong_input_shapes_are_explained(saved):
    _, models = saved
    with pytest.raises(ValueError, match=r"expects \[B, 4, H, W\]"):
        models["radar"].encode(modality_input("lidar"))
    with pytest.raises(ValueError, match="divisible by 8"):
        models["camera"].encode(torch.zeros(1, 3, 30, 48))
    with pytest.raises(ValueError, match="element-wise normalisation"):
        models["camera"].encode(torch.zeros(1, 3, 64, 48))


def test_bundle_maps_day_and_night_to_the_shared_camera_autoencoder(saved):
    root, models = saved
    aes = load_autoencoders(root)
    assert (aes.latent_channels, aes.downsample) == (4, 8)
    x = modality_input("camera")
    assert torch.equal(aes.encode("day", x), aes.encode("night", x))
    assert torch.equal(aes.encode("camera", x), models["camera"].encode(x).detach())
    z = aes.encode("lidar", modality_input("lidar"))
    assert not z.requires_grad and not any(p.requires_grad for p in aes.parameters())
    assert aes.decode("radar", torch.zeros(2, 4, H // 8, W // 8)).shape == (2, 4, H, W)
    with pytest.raises(ValueError, match="unknown modality"):
        aes.encode("thermal", x)
    only_camera = load_autoencoders(root, names=("camera",))
    with pytest.raises(UserError, match="no lidar autoencoder loaded"):
        only_camera.encode("lidar", modality_input("lidar"))


def test_missing_folders_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_autoencoders(tmp_path / "nowhere")
    with pytest.raises(UserError, match="missing autoencoder folder"):
        load_autoencoders(tmp_path)
    (tmp_path / "camera").mkdir()
    with pytest.raises(UserError, match="no perception.json"):
        load_autoencoders(tmp_path)


@pytest.mark.parametrize("blocks, latent_channels, factor", [((8, 16, 16), 8, 4), ((8, 16, 16, 16), 4, 8), ((8, 16), 16, 2)])
def test_latent_geometry_comes_from_the_config(config, blocks, latent_channels, factor):
    """Downsampling factor (2^(levels − 1)) and latent channels are config values for every modality."""
    architecture = {"block_out_channels": blocks, "latent_channels": latent_channels, "norm_num_groups": 4}
    sections = {name: getattr(config, name).model_copy(update={"architecture": getattr(config, name).architecture.model_copy(
        update=architecture)}) for name in CHANNELS}  # fmt: skip
    configured = config.model_copy(update=sections)
    for name, channels in CHANNELS.items():
        model = initial_model(name, configured, None).eval()
        assert (model.downsample, model.latent_channels) == (factor, latent_channels)
        x = modality_input(name)
        with torch.no_grad():
            assert model.raw_latent(x).shape == (2, latent_channels, H // factor, W // factor)
            assert model(x).shape == (2, channels, H, W)


def test_demo_autoencoders_are_f4_and_the_paper_ones_sd_vae_kl_f8():
    demo = load_config("configs/autoencoder_demo.yaml", AutoencodersConfig)
    paper = load_config("configs/autoencoder_paper.yaml", AutoencodersConfig)
    for name in CHANNELS:
        assert len(demo.section(name).architecture.block_out_channels) == 3 and demo.section(name).architecture.latent_channels == 8
    # the paper camera AE has the SD-VAE architecture, so a local SD VAE folder loads into it unchanged
    assert paper.camera.architecture.block_out_channels == (128, 256, 512, 512) and paper.camera.architecture.latent_channels == 4


def small_sd_like_vae(seed: int) -> AutoencoderKL:
    """An RGB AutoencoderKL with an architecture unlike the tiny config's (as a downloaded SD VAE would be)."""
    torch.manual_seed(seed)
    return build_vae(
        ArchitectureConfig(block_out_channels=(8, 16, 16, 16), layers_per_block=1, norm_num_groups=4), 3, 3
    )


@pytest.mark.parametrize("layout", ["vae_folder", "pipeline_folder"])
def test_pretrained_diffusers_folder_initialises_the_camera_autoencoder(config, tmp_path, layout, monkeypatch):
    reference = small_sd_like_vae(seed=5)
    folder = tmp_path / "sd"
    reference.save_pretrained(folder if layout == "vae_folder" else folder / "vae", safe_serialization=True)
    forbid_unpickling(monkeypatch)
    model = initial_model("camera", config, folder)
    assert tuple(model.vae.config.block_out_channels) == (8, 16, 16, 16)
    loaded = model.vae.state_dict()
    assert all(torch.equal(tensor, loaded[key]) for key, tensor in reference.state_dict().items())
    x = modality_input("camera")
    with torch.no_grad():
        assert torch.equal(model.raw_latent(x), reference.encode(x).latent_dist.mode())


def camera_training(config: AutoencodersConfig, **changes) -> AutoencodersConfig:
    train = config.camera.train.model_copy(update=changes)
    return config.model_copy(update={"camera": config.camera.model_copy(update={"train": train})})


def test_fine_tuning_a_pretrained_folder_keeps_its_weights_close_and_resumes_without_it(config, shards, tmp_path):
    reference = small_sd_like_vae(seed=5)
    reference.save_pretrained(tmp_path / "sd", safe_serialization=True)
    short = camera_training(config, steps=2, learning_rate=1e-4, checkpoint_every=2)
    longer = camera_training(config, steps=4, learning_rate=1e-4, checkpoint_every=2)
    train_set, val_set = ShardDataset(shards, "train"), ShardDataset(shards, "val")
    quiet = Console(quiet=True)
    train_autoencoder("camera", short, train_set, val_set, tmp_path / "out", pretrained=tmp_path / "sd", console=quiet)
    tuned = ModalityAutoencoder.from_pretrained(tmp_path / "out" / "camera").vae
    assert tuple(tuned.config.block_out_channels) == (8, 16, 16, 16)  # the folder's architecture, not the YAML's

    def distance(vae: AutoencoderKL) -> float:
        weights = vae.state_dict()
        return sum((weights[k] - v).square().sum().item() for k, v in reference.state_dict().items()) ** 0.5

    assert distance(tuned) < 0.1 * distance(small_sd_like_vae(seed=6))
    metrics = train_autoencoder("camera", longer, train_set, val_set, tmp_path / "out", resume=True, console=quiet)
    assert metrics["resumed_from"] == 2 and metrics["step"] == 4
    resumed = ModalityAutoencoder.from_pretrained(tmp_path / "out" / "camera").vae
    assert tuple(resumed.config.block_out_channels) == (8, 16, 16, 16)


def test_pretrained_folder_errors(config, tmp_path):
    with pytest.raises(UserError, match="no diffusers AutoencoderKL folder"):
        load_vae(tmp_path)
    small_sd_like_vae(seed=1).save_pretrained(tmp_path / "pickled", safe_serialization=False)
    with pytest.raises(UserError, match="cannot load AutoencoderKL"):
        load_vae(tmp_path / "pickled")  # only a .bin (pickle) file: refused
    small_sd_like_vae(seed=1).save_pretrained(tmp_path / "ok", safe_serialization=True)
    with pytest.raises(UserError, match="camera autoencoder only"):
        initial_model("lidar", config, tmp_path / "ok")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["camera", "radar"])
def test_export_wrappers_run_in_onnxruntime_like_torch(saved, name, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    _, models = saved
    model, x = models[name], modality_input(name)
    with torch.no_grad():
        z, reconstruction = model.encode(x), model.decode(model.encode(x))
    outputs = {}
    for part, module, example in (("encoder", model.encoder, x), ("decoder", model.decoder, z)):
        path = tmp_path / f"{part}.onnx"
        torch.onnx.export(module, (example,), str(path), dynamo=True, opset_version=18, external_data=False)
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        outputs[part] = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    assert torch.allclose(torch.from_numpy(outputs["encoder"]), z, atol=1e-4)
    decoded = torch.from_numpy(outputs["decoder"])
    if name == "camera":
        assert torch.allclose(decoded, reconstruction, atol=1e-4)
    else:  # sparse: a logit within float error of 0 may flip one mask pixel; elsewhere the same map
        agree = decoded[:, -1:] == reconstruction[:, -1:]
        assert agree.float().mean() > 0.999
        assert torch.allclose(decoded * agree, reconstruction * agree, rtol=1e-4, atol=1e-3)
