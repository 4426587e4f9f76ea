"""CutPaste, CutPaste-scar and 3-way augmentations (Li et al., CVPR 2021), on float C x H x W in [0, 1].

Parameters follow the paper: patch area 2-15 % of the image, aspect ratio 0.3-3.3 (log-uniform),
scar width 2-16 px and length 10-25 px rotated by -45..45 degrees, colour jitter on the patch
(brightness, contrast, saturation, hue 0.1). The patch is cut from one random place and pasted at
another random place of the same image.
"""
import math
import random

import torch
import torchvision.transforms.functional as TF

AREA_RATIO = (0.02, 0.15)
ASPECT_RATIO = (0.3, 3.3)
SCAR_WIDTH = (2, 16)
SCAR_LENGTH = (10, 25)
SCAR_ANGLE = (-45.0, 45.0)
JITTER = 0.1


def _jitter(patch: torch.Tensor, rng: random.Random) -> torch.Tensor:
    out = TF.adjust_brightness(patch, rng.uniform(1 - JITTER, 1 + JITTER))
    out = TF.adjust_contrast(out, rng.uniform(1 - JITTER, 1 + JITTER))
    if patch.shape[0] == 3:
        out = TF.adjust_saturation(out, rng.uniform(1 - JITTER, 1 + JITTER))
        out = TF.adjust_hue(out, rng.uniform(-JITTER, JITTER))
    return out.clamp(0, 1)


def cutpaste(img: torch.Tensor, rng: random.Random) -> torch.Tensor:
    _, h, w = img.shape
    area = rng.uniform(*AREA_RATIO) * h * w
    aspect = math.exp(rng.uniform(math.log(ASPECT_RATIO[0]), math.log(ASPECT_RATIO[1])))
    pw = min(w - 1, max(1, int(round(math.sqrt(area * aspect)))))
    ph = min(h - 1, max(1, int(round(math.sqrt(area / aspect)))))
    sx, sy = rng.randint(0, w - pw), rng.randint(0, h - ph)
    patch = _jitter(img[:, sy:sy + ph, sx:sx + pw], rng)
    dx, dy = rng.randint(0, w - pw), rng.randint(0, h - ph)
    out = img.clone()
    out[:, dy:dy + ph, dx:dx + pw] = patch
    return out


def scar(img: torch.Tensor, rng: random.Random) -> torch.Tensor:
    _, h, w = img.shape
    sw = min(w - 1, rng.randint(*SCAR_WIDTH))
    sl = min(h - 1, rng.randint(*SCAR_LENGTH))
    sx, sy = rng.randint(0, w - sw), rng.randint(0, h - sl)
    patch = _jitter(img[:, sy:sy + sl, sx:sx + sw], rng)
    angle = rng.uniform(*SCAR_ANGLE)
    # Rotate the patch and a mask of ones together so only the rotated strip is pasted.
    patch = TF.rotate(patch, angle, expand=True)
    mask = TF.rotate(torch.ones(1, sl, sw), angle, expand=True) > 0.5
    ph, pw = patch.shape[1:]
    if ph >= h or pw >= w:
        patch, mask = patch[:, :h - 1, :w - 1], mask[:, :h - 1, :w - 1]
        ph, pw = patch.shape[1:]
    dx, dy = rng.randint(0, w - pw), rng.randint(0, h - ph)
    out = img.clone()
    region = out[:, dy:dy + ph, dx:dx + pw]
    out[:, dy:dy + ph, dx:dx + pw] = torch.where(mask, patch, region)
    return out


def make_batch(x: torch.Tensor, variant: str, rng: random.Random):
    """Returns (images, labels) for one training step.
    variant: 'cutpaste' (normal vs CutPaste), 'cutpaste-scar' (normal vs scar), 'cutpaste-3way'."""
    aug = {"cutpaste": [cutpaste], "cutpaste-scar": [scar], "cutpaste-3way": [cutpaste, scar]}[variant]
    parts, labels = [x], [torch.zeros(x.shape[0], dtype=torch.long)]
    for k, fn in enumerate(aug, start=1):
        parts.append(torch.stack([fn(img, rng) for img in x]))
        labels.append(torch.full((x.shape[0],), k, dtype=torch.long))
    return torch.cat(parts), torch.cat(labels)


def random_crops(x: torch.Tensor, size: int, rng: random.Random) -> torch.Tensor:
    """One random size x size crop per image, for the patch-level model."""
    _, _, h, w = x.shape
    out = []
    for img in x:
        cx, cy = rng.randint(0, w - size), rng.randint(0, h - size)
        out.append(img[:, cy:cy + size, cx:cx + size])
    return torch.stack(out)
