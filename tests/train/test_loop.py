"""The one optimisation loop of per-image training (``noise2x.train.loop.optimise``)."""

from __future__ import annotations

import torch
from torch import nn

from noise2x.train.loop import guarded_optimise, optimise


def _problem():
    torch.manual_seed(0)
    net = nn.Linear(2, 1)
    x = torch.randn(16, 2)
    y = x @ torch.tensor([[1.0], [-2.0]])
    return net, x, y


def test_optimise_draws_outside_autocast_and_reports_every_step():
    net, x, y = _problem()
    seen, enabled = [], []

    def sample(step):
        enabled.append(torch.is_autocast_enabled("cpu"))
        return step

    losses = optimise(
        net, sample, lambda n, step: (n(x) - y).pow(2).mean(),
        torch.optim.SGD(net.parameters(), lr=0.1), None, 30,
        torch.autocast("cpu", dtype=torch.bfloat16),
        lambda done, loss: seen.append((done, loss.item())),
    )  # fmt: skip
    assert len(losses) == 30 and losses[-1] < losses[0] / 10
    assert [d for d, _ in seen] == list(range(1, 31)) and not any(enabled)


def test_optimise_stops_when_the_callback_says_so_and_steps_the_scheduler():
    net, x, y = _problem()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.5)
    losses = optimise(
        net, lambda step: None, lambda n, _: (n(x) - y).pow(2).mean(), optimizer, scheduler, 50,
        after_step=lambda done, loss: done == 3,
    )  # fmt: skip
    assert len(losses) == 3 and optimizer.param_groups[0]["lr"] == 0.1 * 0.5**3


def test_guarded_optimise_keeps_the_starting_weights_when_nothing_beats_them():
    net, x, y = _problem()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    run = guarded_optimise(
        net, lambda: None, lambda n, _: (n(x) - y).pow(2).mean(), lambda: -1.0,
        steps=10, lr=0.1, warmup=0.0, eval_every=5, patience=None, bf16=False, progress=None,
    )  # fmt: skip
    assert run["best_step"] == 0 and run["steps"] == 10 and len(run["train_history"]) == 10
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
