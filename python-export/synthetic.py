"""Synthetic defects with pixel masks, made on normal training images, for the dense CutPaste encoder.

Kinds (image-level label in brackets): none [0]; a CutPaste patch [1] and a scar [2] (cutpaste.py,
the paper's parameters); a smooth random blob [3]. A blob is a thresholded low-resolution uniform
noise field, upsampled bicubically, so its shape is irregular and its size follows the noise grid:
a 4 x 4 grid gives regions of a tenth of the image or more (large-area defects such as uneven
surfaces), a 16 x 16 grid spots of a few pixels. Inside the blob the image gets one of:
  texture  the same region of another normal image (rolled by a random offset), blended at 0.5-1;
  shift    a uniform intensity change of 0.1-0.4 (of the [0, 1] range), up or down;
  blur     a Gaussian blur (sigma 1.5-4 px), which removes the surface texture (BLOB_STYLES: off in
           the shipped model, see docs/encoders.md).
The mask is where the pixels changed (by more than half a grey level), so a blur of an already
flat region or a patch pasted onto identical pixels marks nothing there. Works on float C x H x W
in [0, 1], gray or RGB.
"""
import random

import torch
import torchvision.transforms.functional as TF
from torch.nn import functional as F

import cutpaste

NONE, CUTPASTE, SCAR, BLOB = 0, 1, 2, 3
NUM_KINDS = 4
# Probability of each kind per image: equal shares (what the prototype was measured with).
KIND_WEIGHTS = (0.25, 0.25, 0.25, 0.25)
BLOB_GRIDS = (4, 8, 16)
# Fill styles and their probabilities.
BLOB_STYLES = {"texture": 0.5, "shift": 0.5, "blur": 0.0}
BLOB_THRESHOLD = (0.7, 0.9)
BLOB_MIN_PIXELS = 16
CHANGED = 0.5 / 255


def changed_mask(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """H x W float mask of the pixels that differ (any channel)."""
    return ((after - before).abs().amax(0) > CHANGED).float()


def blob_region(h: int, w: int, rng: random.Random) -> torch.Tensor:
    """1 x H x W float 0/1 mask of an irregular smooth region."""
    g = rng.choice(BLOB_GRIDS)
    gen = torch.Generator().manual_seed(rng.randrange(1 << 30))
    noise = torch.rand(1, 1, g, g, generator=gen)
    noise = F.interpolate(noise, size=(h, w), mode="bicubic", align_corners=False)[0]
    return (noise > rng.uniform(*BLOB_THRESHOLD)).float()


def blob(img: torch.Tensor, pool: torch.Tensor, rng: random.Random) -> torch.Tensor:
    """`pool`: uint8 N x C x H x W normal images (the texture source)."""
    c, h, w = img.shape
    region = blob_region(h, w, rng)
    if region.sum() < BLOB_MIN_PIXELS:
        return img
    style = rng.choices(list(BLOB_STYLES), list(BLOB_STYLES.values()))[0]
    if style == "texture":
        other = pool[rng.randrange(len(pool))].float() / 255.0
        other = torch.roll(other, (rng.randrange(h), rng.randrange(w)), (1, 2))
        alpha = rng.uniform(0.5, 1.0) * region
        return img * (1 - alpha) + other * alpha
    if style == "shift":
        delta = rng.choice((-1, 1)) * rng.uniform(0.1, 0.4)
        return (img + delta * region).clamp(0, 1)
    sigma = rng.uniform(1.5, 4.0)
    blurred = TF.gaussian_blur(img, 2 * int(3 * sigma) + 1, sigma)
    return img * (1 - region) + blurred * region


def synthesize(img: torch.Tensor, pool: torch.Tensor, rng: random.Random):
    """-> (image, H x W mask of changed pixels, kind label). A defect that changed nothing is labelled NONE."""
    kind = rng.choices(range(NUM_KINDS), KIND_WEIGHTS)[0]
    if kind == NONE:
        return img, torch.zeros(img.shape[1:]), NONE
    if kind == CUTPASTE:
        out = cutpaste.cutpaste(img, rng)
    elif kind == SCAR:
        out = cutpaste.scar(img, rng)
    else:
        out = blob(img, pool, rng)
    mask = changed_mask(img, out)
    return out, mask, kind if mask.any() else NONE


def make_batch(x: torch.Tensor, pool: torch.Tensor, rng: random.Random):
    """Float N x C x H x W in [0, 1] -> (images, masks N x H x W, labels N)."""
    images, masks, labels = [], [], []
    for img in x:
        out, mask, kind = synthesize(img, pool, rng)
        images.append(out)
        masks.append(mask)
        labels.append(kind)
    return torch.stack(images), torch.stack(masks), torch.tensor(labels, dtype=torch.long)
