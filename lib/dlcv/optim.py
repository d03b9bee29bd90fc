"""Optimizers: update a model's trainable parameters from their gradients.

An optimizer's ``step(model)`` changes, in place, every ``(key, parameter, gradient)``
that :meth:`dlcv.layers.Sequential.parameters` yields: the parameters of the trainable
layers. A frozen layer (``layer.trainable = False``) is not touched, not even by weight
decay or momentum; its optimizer state (momentum, Adam's moments) is kept, so after
unfreezing it continues from where it stopped.
"""

from __future__ import annotations

import numpy as np

from dlcv.layers import Sequential

__all__ = ["SGD", "Adam"]


class _Optimizer:
    def __init__(self, lr: float, weight_decay: float):
        if not lr > 0:
            raise ValueError(f"lr (learning rate) must be positive, got {lr}")
        if weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
        self.lr, self.weight_decay = float(lr), float(weight_decay)
        self.state: dict[str, tuple] = {}

    def _grad(self, param: np.ndarray, grad: np.ndarray) -> np.ndarray:
        return grad + self.weight_decay * param if self.weight_decay else grad


class SGD(_Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum.

    ``v <- momentum * v - lr * g``; ``p <- p + v`` :cite:p:`rumelhart1986learning`.

    Parameters
    ----------
    lr : float
    momentum : float in [0, 1)
    weight_decay : float
        L2 penalty added to the gradient, ``g + weight_decay * p``.
    """

    def __init__(self, lr: float = 0.01, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must be in [0, 1), got {momentum}")
        self.momentum = float(momentum)

    def step(self, model: Sequential) -> None:
        """Update every parameter of ``model`` in place from its gradient."""
        for key, param, grad in model.parameters():
            g = self._grad(param, grad)
            if self.momentum:
                v = self.state.get(key)
                v = np.zeros_like(param) if v is None else v
                v *= self.momentum
                v -= self.lr * g
                self.state[key] = v
                param += v
            else:
                param -= (self.lr * g).astype(param.dtype, copy=False)

    def __repr__(self) -> str:
        return f"SGD(lr={self.lr:g}, momentum={self.momentum:g})"


class Adam(_Optimizer):
    """Adam :cite:p:`kingma2015adam`: per-parameter steps from running moments of the gradient.

    Parameters
    ----------
    lr : float
    beta1, beta2 : float in [0, 1)
        Decay of the first and second moment estimates.
    eps : float
    weight_decay : float
        L2 penalty added to the gradient.
    """

    def __init__(
        self,
        lr: float = 1e-3,
        beta1: float = 0.9,
        beta2: float = 0.999,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ):
        super().__init__(lr, weight_decay)
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0 <= beta < 1:
                raise ValueError(f"{name} must be in [0, 1), got {beta}")
        self.beta1, self.beta2, self.eps = float(beta1), float(beta2), float(eps)
        self.t = 0

    def step(self, model: Sequential) -> None:
        """Update every parameter of ``model`` in place from its gradient."""
        self.t += 1
        c1, c2 = 1 - self.beta1**self.t, 1 - self.beta2**self.t
        for key, param, grad in model.parameters():
            g = self._grad(param, grad)
            m, v = self.state.get(key) or (np.zeros_like(param), np.zeros_like(param))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            self.state[key] = (m, v)
            param -= (self.lr / c1) * m / (np.sqrt(v / c2) + self.eps)

    def __repr__(self) -> str:
        return f"Adam(lr={self.lr:g})"
