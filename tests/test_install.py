"""The install works: the CPU-only torchvision patch, timm on top of it, and the pinned torch."""

import torch


def test_torch_is_the_pinned_cpu_build():
    assert torch.__version__.startswith("2.13.0")
    assert not torch.cuda.is_available()


def test_torchvision_ops_run_on_cpu():
    import torchvision
    from torchvision.ops import nms

    boxes = torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    assert torchvision.__version__.startswith("0.28")
    assert keep.tolist() == [0, 2]  # the overlapping second box is suppressed


def test_timm_builds_and_runs_a_vit_block():
    import timm

    model = timm.create_model("vit_tiny_patch16_224", pretrained=False, img_size=32, num_classes=3)
    out = model(torch.zeros(2, 3, 32, 32))
    assert out.shape == (2, 3)


def test_open3d_and_devkit_import():
    import open3d
    from nuscenes.nuscenes import NuScenes  # noqa: F401

    assert open3d.t.geometry.RaycastingScene is not None
