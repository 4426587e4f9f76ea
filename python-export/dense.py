"""Dense CutPaste: the encoder of model.py with a per-position head that segments synthetic defects.

One forward pass gives, beside the image-level outputs (pooled, projection):
  features  layer2 ++ layer3 upsampled bilinearly to layer2's grid (stride 8: a 32 x 32 grid at 256 px),
            the intermediate stages PatchCore and PaDiM use; exported 3x3 average-pooled (stride 1,
            pad 1) as PatchCore does, so each embedding summarises its neighbourhood;
  scores    a 1x1-convolution head on the (unpooled) features: one logit per grid position, trained
            with BCE to mark the positions covered by a synthetic defect (synthetic.py). Higher =
            more anomalous.
The image-level classifier (normal vs each defect kind, as CutPaste 3-way) trains the last stage,
so the pooled and projection outputs stay meaningful for the image-level detectors. Its gradient
stops at the last stage's input: stages 1-3 learn from the per-position objective alone, which
the image-level task would otherwise compete with for the same small network.

Grid geometry. Position (i, j) is taken to cover the input pixels centred at ((j + 0.5) * stride,
(i + 0.5) * stride), the convention of bilinear upsampling with align_corners=False that the
heatmaps and the evaluation use. The convolutions' own centres sit 3.5 px up and left of that
(stride-2 convolutions with padding centre output i on input 2i: layer2's position j is centred on
pixel 8j, i.e. 8j + 0.5 in continuous coordinates), less than half a cell: see docs/encoders.md.
"""
import torch
from torch import nn
from torch.nn import functional as F

from model import Encoder

# Indices into ResNet18.layers (two BasicBlocks per stage): the ends of stage 2 and stage 3.
LAYER2_END, LAYER3_END = 3, 5
HEAD_HIDDEN = 64
# Per-position BCE: a grid cell is a positive target when at least this fraction of its pixels was
# changed by the synthetic defect (0.05 of an 8 x 8 cell = 3.2 px: a 2 px scar crossing a cell
# counts, a corner grazed by an anti-aliased edge does not).
TARGET_FRACTION = 0.05
# Positives are rare (a defect covers a few cells of 1024): weight them up so the head does not
# settle on "everything normal".
POS_WEIGHT = 4.0
# The image-level cross-entropy's weight beside the per-position BCE (it reaches only the last stage
# and the heads, so the weight only scales their learning rate).
IMAGE_LOSS_WEIGHT = 1.0
# Stride of the grid (layer2 of the imagenet stem) in input pixels.
STRIDE = 8
# Multiple of which the input side must be (stride of layer3): then layer2's grid is exactly size / 8
# and layer3's exactly half of it.
SIZE_MULTIPLE = 16


class DenseEncoder(Encoder):
    """Encoder (backbone, projection head, image-level classifier) plus the per-position head."""

    def __init__(self, in_channels: int, width: float, stem: str, proj_dim: int = 128, num_classes: int = 0):
        super().__init__(in_channels, width, stem, proj_dim, num_classes)
        if stem != "imagenet":
            raise ValueError("the dense encoder needs the imagenet stem (input of 128 px or more)")
        blocks = self.backbone.layers
        self.feature_dim = blocks[LAYER2_END].bn2.num_features + blocks[LAYER3_END].bn2.num_features
        self.dense_head = nn.Sequential(nn.Conv2d(self.feature_dim, HEAD_HIDDEN, 1), nn.BatchNorm2d(HEAD_HIDDEN),
                                        nn.ReLU(inplace=True), nn.Conv2d(HEAD_HIDDEN, 1, 1))

    def trunk(self, x, detach_last_stage: bool = False):
        """-> (features N x D x H/8 x W/8, pooled N x out_dim): one pass through the backbone.
        detach_last_stage: the last stage's input is cut from the graph (training: see the module doc)."""
        h = self.backbone.stem(x)
        layer2 = layer3 = None
        for i, block in enumerate(self.backbone.layers):
            h = block(h)
            if i == LAYER2_END:
                layer2 = h
            elif i == LAYER3_END:
                layer3 = h
                if detach_last_stage:
                    h = h.detach()
        up = F.interpolate(layer3, size=layer2.shape[-2:], mode="bilinear", align_corners=False)
        pooled = torch.flatten(F.adaptive_avg_pool2d(h, 1), 1)
        return torch.cat([layer2, up], 1), pooled

    def forward(self, x):
        _, pooled = self.trunk(x)
        return pooled, self.head(pooled)

    def train_outputs(self, x):
        """-> (per-position logits N x H/8 x W/8, image-level logits N x num_classes)."""
        features, pooled = self.trunk(x, detach_last_stage=True)
        return self.dense_head(features)[:, 0], self.classifier(self.head(pooled))

    def dense(self, x):
        """-> (pooled, projection, patch_scores N x gh x gw, patch_features N x D x gh x gw): the export's outputs."""
        features, pooled = self.trunk(x)
        scores = self.dense_head(features)[:, 0]
        return pooled, self.head(pooled), scores, F.avg_pool2d(features, 3, 1, 1)


class DenseExportWrapper(nn.Module):
    """What goes into the ONNX file: image -> (pooled, projection, patch_scores, patch_features)."""

    def __init__(self, encoder: DenseEncoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, image):
        return self.encoder.dense(image)


def target_grid(masks: torch.Tensor, grid) -> torch.Tensor:
    """Pixel masks N x H x W (1 = changed by a synthetic defect) -> BCE targets N x gh x gw."""
    frac = F.adaptive_avg_pool2d(masks[:, None].float(), grid)[:, 0]
    return (frac >= TARGET_FRACTION).float()


def loss(model: DenseEncoder, x, labels, targets):
    logits, image_logits = model.train_outputs(x)
    bce = F.binary_cross_entropy_with_logits(logits.float(), targets,
                                             pos_weight=torch.tensor(POS_WEIGHT, device=x.device))
    ce = F.cross_entropy(image_logits.float(), labels)
    return bce + IMAGE_LOSS_WEIGHT * ce


def receptive_field(model: DenseEncoder):
    """Theoretical receptive fields in input pixels, {"layer2", "layer3", "scores", "features"}.

    Walks the main path of the backbone (stem convolution, max-pool, each block's two 3x3
    convolutions; the 1x1 shortcuts add nothing) with the usual recurrence: a kernel k at cumulative
    stride j widens the field by (k - 1) * j, then the stride multiplies j. Bilinear upsampling of
    layer3 mixes two neighbouring layer3 positions (+ one layer3 step); the 1x1 head adds nothing
    (scores); the 3x3 average of the features adds two grid steps (features). The effective field
    (where the gradient is large) is much smaller than these bounds."""
    rf, jump = 1, 1

    def visit(module):
        nonlocal rf, jump
        k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
        s = module.stride if isinstance(module.stride, int) else module.stride[0]
        rf += (k - 1) * jump
        jump *= s

    for m in model.backbone.stem:
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            visit(m)
    out = {}
    for i, block in enumerate(model.backbone.layers):
        visit(block.conv1)
        visit(block.conv2)
        if i == LAYER2_END:
            out["layer2"], stride = rf, jump
        elif i == LAYER3_END:
            out["layer3"], layer3_jump = rf, jump
            break
    out["stride"] = stride
    out["scores"] = max(out["layer2"], out["layer3"] + layer3_jump)
    out["features"] = out["scores"] + 2 * stride
    return out
