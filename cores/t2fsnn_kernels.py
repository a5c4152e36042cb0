"""Gradient-based optimization of the T2FSNN kernels (papers/002, Sec. III-B, Eq. 9-13).

Each spiking layer ``l`` (the input is layer 0) has its own fire kernel
``eps(t) = exp(-(t - t_d^l) / tau^l)`` (Eq. 5); the next layer decodes with the same kernel
(Eq. 8). The kernel is fitted, layer by layer, to the values ``z_bar`` it must carry: the
DNN activations of the conversion (data-based normalized, on the run's frames).

A value ``z`` is sent at ``t_f = ceil(-tau ln z + t_d)`` (Eq. 7; steps 0..T-1, so values
above ``exp(t_d / tau)`` go at step 0 and those below ``exp(-(T - 1 - t_d) / tau)`` are not
sent) and decoded as ``z_hat = exp(-(t_f - t_d) / tau)``. The losses are

* precision, Eq. 9: ``L_prec = mean over sent values of (z_bar - z_hat)^2 / 2``;
* minimum representation, Eq. 10: ``L_min = (z_bar_min - exp(-(T - 1 - t_d) / tau))^2 / 2``
  (papers/002 writes ``T`` for the window end; with steps 0..T-1 the last step is T-1);
* maximum representation, Eq. 11: ``L_max = (z_bar_max - exp(t_d / tau))^2 / 2``.

As in the paper, ``tau`` follows the gradient of ``L_prec + L_min`` (Eq. 12, ``t_f`` held
fixed) and ``t_d`` that of ``L_max`` (Eq. 13). The paper uses mini-batch SGD on the training
set; here every value of the run's frames is used in each of ``neuron.kernel_iterations``
Adam steps of ``neuron.kernel_lr``, so the result is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

__all__ = ["KernelLosses", "kernel_losses", "fit_kernel"]


@dataclass(frozen=True)
class KernelLosses:
    """The three loss terms of one layer's kernel (Eq. 9, 10, 11), as tensors."""

    prec: torch.Tensor
    min: torch.Tensor
    max: torch.Tensor


def kernel_losses(z_bar: torch.Tensor, tau: torch.Tensor, t_d: torch.Tensor,
                  steps: int) -> KernelLosses:
    """Eq. 9-11 for positive values ``z_bar`` (1-D) under the kernel ``(tau, t_d)``.

    ``t_f`` (Eq. 7) is computed without gradient, so ``d z_hat / d tau`` is Eq. 12's
    ``(t_f - t_d) / tau^2 * z_hat``.
    """
    with torch.no_grad():
        t_f = torch.clamp(torch.ceil(-tau * torch.log(z_bar) + t_d), min=0.0)
        sent = t_f <= steps - 1
    z_hat = torch.exp(-(t_f[sent] - t_d) / tau)
    prec = (0.5 * (z_bar[sent] - z_hat) ** 2).mean() if bool(sent.any()) else tau * 0.0
    low = 0.5 * (z_bar.min() - torch.exp(-(steps - 1 - t_d) / tau)) ** 2
    high = 0.5 * (z_bar.max() - torch.exp(t_d / tau)) ** 2
    return KernelLosses(prec, low, high)


def fit_kernel(values: np.ndarray, tau: float, t_d: float, steps: int, iterations: int,
               lr: float) -> tuple[float, float]:
    """Fit one layer's ``(tau, t_d)`` to the values it carries (see the module docstring).

    Parameters
    ----------
    values
        The layer's DNN activations, any shape; only positive ones are sent.
    tau, t_d
        Initial kernel (``neuron.tau``, ``neuron.t_d``), steps.
    steps
        Time window T, steps.
    iterations, lr
        Adam steps and learning rate.

    Returns
    -------
    (tau, t_d)
        The fitted kernel; the initial one if the layer carries no positive value.
    """
    z_bar = torch.as_tensor(values[values > 0], dtype=torch.float64)
    if not len(z_bar) or iterations == 0:
        return tau, t_d
    p_tau = torch.tensor(float(tau), dtype=torch.float64, requires_grad=True)
    p_td = torch.tensor(float(t_d), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([p_tau, p_td], lr=lr)
    for _ in range(iterations):
        loss = kernel_losses(z_bar, p_tau, p_td, steps)
        (g_tau,) = torch.autograd.grad(loss.prec + loss.min, p_tau)  # Eq. 12
        (g_td,) = torch.autograd.grad(loss.max, p_td)  # Eq. 13
        opt.zero_grad()
        p_tau.grad, p_td.grad = g_tau, g_td
        opt.step()
        with torch.no_grad():
            p_tau.clamp_(min=0.1)
    return float(p_tau.detach()), float(p_td.detach())
