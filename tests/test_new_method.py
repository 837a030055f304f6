"""A new method is one file, one YAML and one test: a dummy method proves nothing else is needed.

The dummy lives in this file (its "own file"), writes its YAML into a folder of
``$NOISE2X_CONFIG_PATH`` (its "own YAML"), and is then trained, listed, checked and applied by
the existing engine, CLI and API without any other edit. A weighted L1 Noise2Noise is enough:
what matters is the path it takes, not what it learns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor, nn

from noise2x.methods import METHODS, Batch, MethodBase

YAML = """\
# A test-only method: weighted L1 between f(noisy) and the second noisy view.
name: dummy
weight: 1.0   # scale of the L1 loss (> 0)
"""


@dataclass(frozen=True)
class DummyConfig:
    """Settings of the dummy method.

    Attributes
    ----------
    weight : float
        Scale of the L1 loss (> 0), unitless.
    """

    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.weight > 0:
            raise ValueError(f"dummy: weight must be > 0, got {self.weight}")


class Dummy(MethodBase):
    """Weighted L1 Noise2Noise: weight * mean |f(noisy) - target|."""

    name: ClassVar[str] = "dummy"
    Config: ClassVar[type] = DummyConfig

    def __init__(self, loss=None, total_steps: int | None = None, **settings) -> None:
        self.config = DummyConfig(**settings)  # the run's loss group is not used: L1 is fixed

    def default_net(self, channels: int) -> nn.Module:
        """Return a 3x3 convolution."""
        return nn.Conv2d(channels, channels, 3, padding=1)

    def training_loss(self, net: nn.Module, batch: Batch, step: int) -> Tensor:
        """Return weight * mean |f(noisy) - target|."""
        return self.config.weight * (net(batch.noisy) - batch.target).abs().mean()

    def denoise(self, net: nn.Module, noisy: Tensor) -> Tensor:
        """Return f(noisy)."""
        return net(noisy)


@pytest.fixture
def dummy(tmp_path, monkeypatch):
    """Register the dummy and put its YAML on ``$NOISE2X_CONFIG_PATH``; undo both after."""
    (tmp_path / "conf" / "method").mkdir(parents=True)
    (tmp_path / "conf" / "method" / "dummy.yaml").write_text(YAML)
    monkeypatch.setenv("NOISE2X_CONFIG_PATH", str(tmp_path / "conf"))
    METHODS.register("dummy")(Dummy)
    yield Dummy
    METHODS.unregister("dummy")


def test_the_config_knows_the_new_method_and_checks_its_settings(dummy):
    from noise2x.train.config import ConfigError, compose_config, group_options

    assert "dummy" in group_options("method")
    assert compose_config(["method=dummy", "method.weight=2"])["method"] == {
        "name": "dummy",
        "weight": 2.0,
    }
    with pytest.raises(ConfigError, match="unknown config key 'method.wieght'.*'method.weight'"):
        compose_config(["method=dummy", "method.wieght=2"])
    with pytest.raises(ConfigError, match="weight must be > 0"):
        compose_config(["method=dummy", "method.weight=0"])
    built = METHODS.build({"name": "dummy", "weight": 3.0}, loss=None, total_steps=1)
    assert built.config.weight == 3.0


def test_the_new_method_trains_lists_and_denoises_with_no_other_edit(dummy, data_path, tmp_path):
    from typer.testing import CliRunner

    import noise2x
    from noise2x.cli import app
    from noise2x.train.runs import train

    result = train(
        [
            "method=dummy",
            "method.weight=2",
            f"data.root={data_path('Set12')}",
            "data.val_count=1",
            "data.patch_size=32",
            "data.batch_size=2",
            "data.num_workers=0",
            "trainer.max_steps=3",
            "trainer.progress_bar=false",
            "logger=none",
            f"run.root={tmp_path / 'runs'}",
        ]
    )
    assert result.steps == 3 and result.last_checkpoint.is_file()
    noisy = np.random.default_rng(0).random((1, 40, 40), dtype=np.float32)
    out = noise2x.denoise(noisy, checkpoint=str(result.last_checkpoint), device="cpu")
    assert out.shape == noisy.shape and np.isfinite(out).all()
    listing = CliRunner().invoke(app, ["list"]).output
    assert "  method=dummy\n    method.weight = 1.0  # Scale of the L1 loss (> 0)" in listing


def test_the_contract_tests_cover_the_new_method(dummy):
    from test_contracts import test_every_method_declares_the_contract_it_is_used_through

    test_every_method_declares_the_contract_it_is_used_through("dummy")
    method = METHODS.build({"name": "dummy"}, loss=None, total_steps=1)
    net = method.default_net(1)
    noisy = torch.rand(2, 1, 8, 8)
    loss = method.training_loss(net, Batch(noisy=noisy, target=torch.rand_like(noisy)), 0)
    loss.backward()
    assert torch.isfinite(loss) and all(p.grad is not None for p in net.parameters())
