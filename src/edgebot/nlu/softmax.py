"""Multinomial logistic regression over a dense block (embeddings) and a sparse block (n-grams),
L2-regularised, fitted with L-BFGS (scipy); plus temperature scaling for calibrated confidence."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.optimize
import scipy.sparse as sp
from scipy.special import log_softmax, logsumexp


@dataclass
class LinearModel:
    w_dense: np.ndarray  # [d, C]
    w_sparse: np.ndarray  # [V, C]
    bias: np.ndarray  # [C]

    def logits(self, dense: np.ndarray, sparse: sp.csr_matrix) -> np.ndarray:
        return np.asarray(dense @ self.w_dense + sparse @ self.w_sparse + self.bias)


def fit(
    dense: np.ndarray, sparse: sp.csr_matrix, y: np.ndarray, n_classes: int, *, l2: float, max_iter: int = 400
) -> LinearModel:
    """Minimise mean cross-entropy + l2/2 * |W|^2 (the bias is not penalised)."""
    n, d = dense.shape
    v = sparse.shape[1]
    onehot = np.zeros((n, n_classes), dtype=np.float64)
    onehot[np.arange(n), y] = 1.0
    dense64 = dense.astype(np.float64)
    sparse64 = sparse.astype(np.float64).tocsr()
    sparse_t = sparse64.T.tocsr()

    def unpack(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        wd = theta[: d * n_classes].reshape(d, n_classes)
        ws = theta[d * n_classes : (d + v) * n_classes].reshape(v, n_classes)
        return wd, ws, theta[(d + v) * n_classes :]

    def loss_grad(theta: np.ndarray) -> tuple[float, np.ndarray]:
        wd, ws, b = unpack(theta)
        z = dense64 @ wd + sparse64 @ ws + b
        logp = log_softmax(z, axis=1)
        loss = -float((logp * onehot).sum()) / n + 0.5 * l2 * (float((wd**2).sum()) + float((ws**2).sum()))
        delta = (np.exp(logp) - onehot) / n
        grad = np.concatenate([
            (dense64.T @ delta + l2 * wd).ravel(),
            (np.asarray(sparse_t @ delta) + l2 * ws).ravel(),
            delta.sum(axis=0),
        ])
        return loss, grad

    theta0 = np.zeros((d + v + 1) * n_classes)
    result = scipy.optimize.minimize(loss_grad, theta0, jac=True, method="L-BFGS-B",
                                     options={"maxiter": max_iter, "gtol": 1e-6})
    wd, ws, b = unpack(result.x)
    return LinearModel(wd.astype(np.float32), ws.astype(np.float32), b.astype(np.float32))


def fit_temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature T minimising the negative log-likelihood of softmax(logits / T) on held-out data."""

    def nll(log_t: float) -> float:
        z = logits / np.exp(log_t)
        return float(-(z[np.arange(len(y)), y] - logsumexp(z, axis=1)).mean())

    res = scipy.optimize.minimize_scalar(nll, bounds=(-3.0, 3.0), method="bounded")
    return float(np.exp(res.x))
