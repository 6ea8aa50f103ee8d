"""Adam as one call of torch's fused kernel per step, with a learning rate per seed for parameters stacked over
seeds."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import Tensor

__all__ = ["FusedAdam"]


class FusedAdam:
    """Adam (Kingma & Ba, ICLR 2015, as ``torch.optim.Adam(fused=True)`` computes it, no weight decay), one call of
    torch's fused kernel per distinct learning rate.

    Written by hand for two reasons. ``torch.optim.Adam`` keeps a step counter per parameter tensor and spends
    Python and ``_foreach_add_`` work on every tensor at every step (on GVP-GNN's 118 tensors, 1.02 ms a step
    against 0.71 ms here: ``benchmarks/train_step.py``); here one counter is shared. And it has one learning rate
    per parameter group, while seeds stacked in one tensor (``torch.func.stack_module_state``) each follow their own
    schedule: row ``r`` of every stacked tensor is seed ``r``, updated at ``lr[r]`` (Adam is element-wise, so a row
    is updated exactly as a parameter of its own).

    A tensor that backward did not reach (``grad`` None) is skipped, as ``torch.optim.Adam`` skips it; the shared
    counter then still advances, so the two differ only for a parameter reached in some steps and not others.

    Parameters
    ----------
    params : iterable of Tensor
        Leaf tensors: one model's parameters, or, with ``rows``, tensors stacked over ``rows`` seeds along their
        first axis.
    lr : float
        The starting learning rate of every row; change ``lr[r]`` between steps to follow a schedule.
    rows : int or None
        The number of stacked seeds, or None for one model's parameters (one row).

    Examples
    --------
    >>> net = torch.nn.Linear(3, 2)
    >>> adam = FusedAdam(net.parameters(), lr=1e-3)
    >>> adam.zero_grad(); net(torch.ones(1, 3)).sum().backward(); adam.step()
    >>> adam.lr, int(adam.step_count)
    ([0.001], 1)
    """

    def __init__(self, params: Iterable[Tensor], lr: float, rows: int | None = None,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        self.params = list(params)
        if rows is not None and any(p.dim() == 0 or p.size(0) != rows for p in self.params):
            raise ValueError(f"FusedAdam: rows={rows} but some parameter's first axis is not {rows}. Fix: pass "
                             "tensors stacked over the seeds, or rows=None for one model's parameters.")
        self.betas, self.eps = betas, eps
        self.lr = [lr] * (rows or 1)
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        self.step_count = torch.zeros((), dtype=torch.float32)
        with torch.no_grad():  # each seed's row of every parameter and moment, for steps where rates differ
            self._rows = [list(zip(p.unbind(0), m.unbind(0), v.unbind(0)))
                          for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq)] if rows else []

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    @torch.no_grad()
    def step(self) -> None:
        """One update of every parameter reached by backward, each row at its own learning rate."""
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        self.step_count += 1
        rates = sorted(set(self.lr))
        if len(rates) == 1:  # whole tensors: every row at the same rate
            self._update([(self.params[i], self.params[i].grad, self.exp_avg[i], self.exp_avg_sq[i]) for i in live],
                         rates[0])
            return
        grads = {i: self.params[i].grad.unbind(0) for i in live}
        for lr in rates:
            self._update([(p, grads[i][r], m, v) for i in live for r, (p, m, v) in enumerate(self._rows[i])
                          if self.lr[r] == lr], lr)

    def _update(self, tensors: list[tuple[Tensor, Tensor, Tensor, Tensor]], lr: float) -> None:
        params, grads, exp_avgs, exp_avg_sqs = (list(t) for t in zip(*tensors))
        beta1, beta2 = self.betas
        torch._fused_adam_(params, grads, exp_avgs, exp_avg_sqs, [], [self.step_count] * len(params), lr=lr,
                           beta1=beta1, beta2=beta2, weight_decay=0.0, eps=self.eps, amsgrad=False, maximize=False)
