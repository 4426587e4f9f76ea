"""ResNet-18 encoder with a width multiplier and an MLP projection head (Sohn et al. 2021; Li et al. 2021).

Stem: for small inputs (below 128 px) a 3x3 stride-1 convolution without max-pool, as in the
CIFAR experiments of both papers; for 128 px and up the standard 7x7 stride-2 convolution plus
3x3 stride-2 max-pool. The exported graph has two outputs: "pooled" (global-average-pooled
features, what stage-2 detectors use) and "projection" (the MLP head output). Classification
layers used by the pretext tasks (rotation, CutPaste) sit on top of the head and are not exported.
"""
import torch
from torch import nn


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return torch.relu(out + self.shortcut(x))


def stem_for(input_size: int) -> str:
    return "cifar" if input_size < 128 else "imagenet"


class ResNet18(nn.Module):
    def __init__(self, in_channels: int = 3, width: float = 1.0, stem: str = "cifar"):
        super().__init__()
        if stem not in ("cifar", "imagenet"):
            raise ValueError(f"stem must be 'cifar' or 'imagenet', received {stem!r}")
        widths = [max(8, int(round(64 * width * m))) for m in (1, 2, 4, 8)]
        if stem == "cifar":
            self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True))
        else:
            self.stem = nn.Sequential(nn.Conv2d(in_channels, widths[0], 7, 2, 3, bias=False),
                                      nn.BatchNorm2d(widths[0]), nn.ReLU(inplace=True),
                                      nn.MaxPool2d(3, 2, 1))
        layers, cin = [], widths[0]
        for i, w in enumerate(widths):
            stride = 1 if i == 0 else 2
            layers += [BasicBlock(cin, w, stride), BasicBlock(w, w, 1)]
            cin = w
        self.layers = nn.Sequential(*layers)
        self.out_dim = widths[-1]

    def forward(self, x):
        return torch.flatten(nn.functional.adaptive_avg_pool2d(self.layers(self.stem(x)), 1), 1)


class Encoder(nn.Module):
    """Backbone + MLP projection head (+ an optional linear classifier for pretext tasks)."""

    def __init__(self, in_channels: int, width: float, stem: str, proj_dim: int = 128, num_classes: int = 0):
        super().__init__()
        self.backbone = ResNet18(in_channels, width, stem)
        d = self.backbone.out_dim
        self.head = nn.Sequential(nn.Linear(d, d, bias=False), nn.BatchNorm1d(d), nn.ReLU(inplace=True),
                                  nn.Linear(d, proj_dim))
        self.classifier = nn.Linear(proj_dim, num_classes) if num_classes else None

    def forward(self, x):
        pooled = self.backbone(x)
        return pooled, self.head(pooled)

    def logits(self, x):
        pooled, proj = self(x)
        return pooled, proj, self.classifier(proj)


class ExportWrapper(nn.Module):
    """What goes into the ONNX file: image -> (pooled, projection)."""

    def __init__(self, encoder: Encoder):
        super().__init__()
        self.encoder = encoder

    def forward(self, image):
        return self.encoder(image)
