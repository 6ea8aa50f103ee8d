"""Adam on one flat buffer of parameters: a single fused kernel call per step, however many tensors a model has."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

__all__ = ["FlatAdam"]


class FlatAdam:
    """Adam (Kingma & Ba, ICLR 2015, as ``torch.optim.Adam(fused=True)`` computes it, no weight decay) over
    parameters moved into one buffer, with one learning rate per row.

    The parameters become views of a ``[rows, P]`` buffer (their values kept) and their gradients views of a second
    one, which backward accumulates into in place; :meth:`step` then calls torch's fused Adam kernel once per
    distinct learning rate, on whole rows. A parameter that backward does not reach gets a zero gradient, where
    ``torch.optim.Adam`` would skip it (the same unless it is reached in some steps only). Written by hand because ``torch.optim.Adam`` spends per-tensor Python and
    step-counter work on every parameter tensor (0.5 ms a step for GVP-GNN's 118, as much as the update itself), and
    has one learning rate per parameter group, while seeds stacked in one tensor follow their own schedules.

    Parameters
    ----------
    params : iterable of Tensor
        Leaf tensors of one dtype and device: one model's parameters, or, with ``rows``, tensors stacked over
        ``rows`` seeds along their first axis (``torch.func.stack_module_state``); row ``r`` is seed ``r``.
    lr : float
        The starting learning rate of every row; ``lr[r]`` may be changed between steps (a schedule per seed).
    rows : int or None
        None for one model's parameters (one row).

    Examples
    --------
    >>> net = torch.nn.Linear(3, 2)
    >>> adam = FlatAdam(net.parameters(), lr=1e-3)
    >>> adam.zero_grad(); net(torch.ones(1, 3)).sum().backward(); adam.step()
    >>> adam.data.shape, net.weight.data_ptr() == adam.data.data_ptr()
    (torch.Size([1, 8]), True)
    """

    def __init__(self, params: Iterable[Tensor], lr: float, rows: int | None = None,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = list(params)
        if not self.params or len({(p.dtype, p.device) for p in self.params}) != 1:
            raise ValueError("FlatAdam: needs at least one parameter, all of one dtype and device. Fix: convert the "
                             "model with .to(dtype) first.")
        stacked = rows is not None
        self.rows = rows if stacked else 1
        sizes = [p[0].numel() if stacked else p.numel() for p in self.params]
        self.data = self.params[0].new_empty(self.rows, sum(sizes))
        self.grad, self.exp_avg, self.exp_avg_sq = (torch.zeros_like(self.data) for _ in range(3))
        self.betas, self.eps, self.lr = betas, eps, [lr] * self.rows
        self.step_count = torch.zeros((), dtype=torch.float32)
        self._grads = []
        start = 0
        with torch.no_grad():
            for p, size in zip(self.params, sizes):
                block = slice(start, start + size)
                self.data[:, block].copy_(p.reshape(self.rows, size))
                p.data = self._view(self.data, block, p.shape, stacked)
                p.grad = self._view(self.grad, block, p.shape, stacked)
                self._grads.append(p.grad)
                start += size

    @staticmethod
    def _view(buffer: Tensor, block: slice, shape: torch.Size, stacked: bool) -> Tensor:
        return buffer[:, block].view(shape) if stacked else buffer[0, block].view(shape)

    def zero_grad(self) -> None:
        """Zero the gradients in place (they must stay views of the buffer)."""
        self.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        """One Adam update of every row, at its own learning rate."""
        if any(p.grad is not g for p, g in zip(self.params, self._grads)):
            raise RuntimeError("FlatAdam: a parameter's .grad was replaced (e.g. by module.zero_grad()), so its "
                               "gradient would be ignored. Fix: zero gradients with FlatAdam.zero_grad() only.")
        self.step_count += 1
        beta1, beta2 = self.betas
        for lr in sorted(set(self.lr)):
            rows = [r for r, rate in enumerate(self.lr) if rate == lr]
            torch._fused_adam_([self.data[r] for r in rows], [self.grad[r] for r in rows],
                               [self.exp_avg[r] for r in rows], [self.exp_avg_sq[r] for r in rows], [],
                               [self.step_count] * len(rows), lr=lr, beta1=beta1, beta2=beta2, weight_decay=0.0,
                               eps=self.eps, amsgrad=False, maximize=False)
