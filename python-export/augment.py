"""Batched augmentations for contrastive learning with distribution augmentation (Sohn et al. 2021).

They run on a whole N x C x H x W float batch in [0, 1] on the training device, with per-sample
random parameters, instead of per-image PIL transforms: a Python loop per image would dominate
CPU training time for 32 x 32 images.
"""
import math

import torch
from torchvision.ops import roi_align


def rotate90(x: torch.Tensor, k: int) -> torch.Tensor:
    return torch.rot90(x, k, dims=(2, 3))


def all_rotations(x: torch.Tensor):
    """Four copies rotated by 0/90/180/270 degrees, stacked along the batch, and labels 0..3."""
    rot = torch.cat([rotate90(x, k) for k in range(4)])
    labels = torch.arange(4, device=x.device).repeat_interleave(x.shape[0])
    return rot, labels


def random_resized_crop(x: torch.Tensor, gen: torch.Generator, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3)):
    """Bilinear crop-and-resize of every sample to its own size, via roi_align (one batched call)."""
    n, _, h, w = x.shape
    area = torch.empty(n).uniform_(*scale, generator=gen) * h * w
    log_r = torch.empty(n).uniform_(math.log(ratio[0]), math.log(ratio[1]), generator=gen)
    r = torch.exp(log_r)
    cw = torch.sqrt(area * r).clamp(1, w)
    ch = torch.sqrt(area / r).clamp(1, h)
    x0 = torch.rand(n, generator=gen) * (w - cw)
    y0 = torch.rand(n, generator=gen) * (h - ch)
    boxes = torch.stack([torch.arange(n, dtype=torch.float32), x0, y0, x0 + cw, y0 + ch], 1).to(x.device)
    return roi_align(x, boxes, output_size=(h, w), spatial_scale=1.0, sampling_ratio=2, aligned=True)


def _gray(x: torch.Tensor) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])


def color_jitter(x: torch.Tensor, gen: torch.Generator, strength=0.4, hue=0.1, p=0.8) -> torch.Tensor:
    """Brightness, contrast, saturation and hue jitter with per-sample factors, applied with probability p."""
    n = x.shape[0]
    dev = x.device

    def factor(s):
        return torch.empty(n, 1, 1, 1).uniform_(1 - s, 1 + s, generator=gen).to(dev)

    out = x * factor(strength)
    mean = _gray(out).mean(dim=(1, 2, 3), keepdim=True)
    out = (out - mean) * factor(strength) + mean
    if x.shape[1] == 3:
        g = _gray(out)
        out = (out - g) * factor(strength) + g
        # Hue: rotate chroma in YIQ space by a per-sample angle (a linear stand-in for HSV hue shift).
        theta = (torch.empty(n).uniform_(-hue, hue, generator=gen) * 2 * math.pi).to(dev)
        yiq = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]], device=dev)
        c, s = torch.cos(theta), torch.sin(theta)
        rot = torch.zeros(n, 3, 3, device=dev)
        rot[:, 0, 0] = 1
        rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = c, -s, s, c
        m = torch.linalg.inv(yiq) @ rot @ yiq
        out = torch.einsum("nij,njhw->nihw", m, out)
    out = out.clamp(0, 1)
    apply = (torch.rand(n, generator=gen) < p).to(dev).view(n, 1, 1, 1)
    return torch.where(apply, out, x)


def random_grayscale(x: torch.Tensor, gen: torch.Generator, p=0.2) -> torch.Tensor:
    if x.shape[1] == 1:
        return x
    apply = (torch.rand(x.shape[0], generator=gen) < p).to(x.device).view(-1, 1, 1, 1)
    return torch.where(apply, _gray(x).expand_as(x), x)


def random_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    apply = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(apply, x.flip(3), x)


def random_vflip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    apply = (torch.rand(x.shape[0], generator=gen) < 0.5).to(x.device).view(-1, 1, 1, 1)
    return torch.where(apply, x.flip(2), x)


def contrastive_view(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    return random_grayscale(color_jitter(random_flip(random_resized_crop(x, gen), gen), gen), gen)


def rotation_view(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Rotation prediction's augmentations in Sohn et al.'s recipe: a milder crop than contrastive
    learning (at least half the image), flip, colour jitter, grayscale."""
    return random_grayscale(color_jitter(random_flip(random_resized_crop(x, gen, scale=(0.5, 1.0)), gen), gen), gen)
