"""FusedAdam against torch.optim.Adam: one model, and seeds stacked in one tensor with their own learning rates."""

from __future__ import annotations

import copy

import pytest
import torch
from torch.func import stack_module_state

from dojo.optim import FusedAdam


def _net(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()


def _loss(net: torch.nn.Module, step: int) -> torch.Tensor:
    x = torch.linspace(-1, 1, 12, dtype=torch.float64).view(4, 3) * (step + 1)
    return net(x).square().sum()


def test_one_model_follows_torch_adam():
    ours, ref = _net(0), _net(0)
    adam, torch_adam = FusedAdam(ours.parameters(), lr=1e-2), torch.optim.Adam(ref.parameters(), lr=1e-2)
    for step in range(6):
        for net, opt in ((ours, adam), (ref, torch_adam)):
            opt.zero_grad()
            _loss(net, step).backward()
            opt.step()
    for p, q in zip(ours.parameters(), ref.parameters()):
        assert torch.allclose(p, q, rtol=0, atol=1e-14)


def test_stacked_rows_each_follow_their_own_rate():
    nets = [_net(seed) for seed in range(3)]
    refs = copy.deepcopy(nets)
    params = stack_module_state(nets)[0]
    adam = FusedAdam(list(params.values()), lr=1e-2, rows=3)
    torch_adams = [torch.optim.Adam(ref.parameters(), lr=1e-2) for ref in refs]
    template = copy.deepcopy(nets[0])
    for step in range(6):
        if step == 3:  # seeds part: one halves its rate
            adam.lr[1] = torch_adams[1].param_groups[0]["lr"] = 5e-3
        adam.zero_grad()
        losses = torch.func.vmap(lambda p: _loss(lambda x: torch.func.functional_call(template, p, (x,)), step))
        losses(params).sum().backward()
        adam.step()
        for ref, opt in zip(refs, torch_adams):
            opt.zero_grad()
            _loss(ref, step).backward()
            opt.step()
    for s, ref in enumerate(refs):
        for name, q in ref.named_parameters():
            assert torch.allclose(params[name][s], q, rtol=0, atol=1e-14), (s, name)


def test_rows_must_match_the_stacked_axis():
    with pytest.raises(ValueError, match="first axis"):
        FusedAdam([torch.zeros(2, 3, requires_grad=True)], lr=1e-3, rows=4)
