"""One-class evaluation with simple detectors on L2-normalized pooled embeddings.

Scores are "higher = more anomalous". Detectors: 1-NN cosine distance, Gaussian KDE (negative
log of the mean RBF kernel, gamma as Sohn et al. use on normalized features) and the Gaussian
density estimator (Mahalanobis distance with Ledoit-Wolf covariance) used by CutPaste.
"""
import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from sklearn.metrics import roc_auc_score

from preprocess import normalize_u8


@torch.no_grad()
def embed_u8(model, images_nhwc: np.ndarray, mean, std, device, batch_size=256):
    """N x H x W x C uint8 (already at model size) -> (pooled, projection) float32 numpy arrays."""
    model.eval()
    pooled, proj = [], []
    for i in range(0, len(images_nhwc), batch_size):
        x = normalize_u8(images_nhwc[i:i + batch_size], mean, std).to(device)
        p, z = model(x)
        pooled.append(p.float().cpu())
        proj.append(z.float().cpu())
    return torch.cat(pooled).numpy(), torch.cat(proj).numpy()


def _l2n(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn1_scores(train, test):
    a, b = _l2n(train), _l2n(test)
    return 1.0 - (b @ a.T).max(axis=1)


def kde_scores(train, test, gamma=10.0):
    a, b = _l2n(train), _l2n(test)
    d2 = np.maximum(2.0 - 2.0 * (b @ a.T), 0.0)
    k = -gamma * d2
    m = k.max(axis=1, keepdims=True)
    return -(m[:, 0] + np.log(np.exp(k - m).mean(axis=1)))


def gde_scores(train, test):
    a, b = _l2n(train), _l2n(test)
    lw = LedoitWolf().fit(a)
    return lw.mahalanobis(b)


def auroc_report(train_emb, test_emb, test_labels):
    out = {}
    for name, fn in (("knn1", knn1_scores), ("kde", kde_scores), ("gde", gde_scores)):
        out[name] = float(roc_auc_score(test_labels, fn(train_emb, test_emb)))
    return out


def grid_patches(images_nhwc: np.ndarray, size: int, stride: int):
    """All size x size patches on a regular grid; returns (N*P x size x size x C, P)."""
    n, h, w, c = images_nhwc.shape
    ys = list(range(0, h - size + 1, stride))
    xs = list(range(0, w - size + 1, stride))
    patches = [images_nhwc[:, y:y + size, x:x + size] for y in ys for x in xs]
    return np.stack(patches, axis=1).reshape(n * len(patches), size, size, c), len(patches)
