"""``run.init``: a new training run that starts from a trained model's weights."""

import pytest
import torch

from noise2x.nets import build_net
from noise2x.train.checkpoint import load_denoiser
from noise2x.train.config import ConfigError
from noise2x.train.init_weights import initial_state
from noise2x.train.runs import train
from noise2x.weights import save_weights


def tiny(data_path, tmp_path, *extra):
    """Two steps on small Set12 crops (as tests/train/test_runs.py)."""
    return [
        f"data.root={data_path('Set12')}",
        "data.val_count=1",
        "data.val_max_images=1",
        "data.patch_size=48",
        "data.batch_size=4",
        "data.samples_per_epoch=40",
        "data.num_workers=0",
        "net.width=16",
        "trainer.max_steps=2",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={tmp_path / 'runs'}",
        *extra,
    ]


def metadata(width):
    """Complete metadata of a weights file (noise2x.weights.REQUIRED)."""
    keys = ("recipe", "data", "noise", "steps", "seed", "commit", "seconds")
    return {"net": {"name": "unet_n2n", "width": width}, "channels": 1, **dict.fromkeys(keys, 0)}


def weights(net):
    return torch.cat([p.detach().flatten() for p in net.parameters()])


@pytest.mark.data
@pytest.mark.slow
def test_a_run_started_from_a_checkpoint_begins_at_its_weights(data_path, tmp_path):
    source = train(tiny(data_path, tmp_path, "seed=1", "optim.lr=1e-3"))
    # lr 1e-9: after one Adam step the weights are still the initial ones to about 1e-9
    init = f"run.init={source.last_checkpoint}"
    started = train(tiny(data_path, tmp_path, "seed=2", "optim.lr=1e-9", init))
    fresh = train(tiny(data_path, tmp_path, "seed=2", "optim.lr=1e-9"))

    a = weights(load_denoiser(source.last_checkpoint).net)
    assert torch.allclose(weights(load_denoiser(started.last_checkpoint).net), a, atol=1e-6)
    assert (weights(load_denoiser(fresh.last_checkpoint).net) - a).abs().max() > 1e-2
    assert started.run_dir not in (source.run_dir, fresh.run_dir)


def test_initial_state_reads_a_weights_file(tmp_path):
    net = build_net("unet_n2n", 1, width=8, seed=3)
    path = save_weights(tmp_path / "w.safetensors", net, metadata(8))

    state = initial_state(path, {"name": "unet_n2n", "width": 8}, 1)

    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_the_shipped_prior_is_found_by_its_name():
    from noise2x.weights import WEIGHTS_DIR, load_net

    state = initial_state("prior_grey.safetensors", {"name": "unet_n2n", "width": 48}, 1)

    net, _ = load_net(WEIGHTS_DIR / "prior_grey.safetensors")
    assert all(torch.equal(state[k], v) for k, v in net.state_dict().items())


def test_a_net_that_does_not_fit_is_named(tmp_path):
    net = build_net("unet_n2n", 1, width=8, seed=3)
    path = save_weights(tmp_path / "w.safetensors", net, metadata(8))

    with pytest.raises(ConfigError, match=r"run.init: .*w.safetensors.*does not fit.*'width': 16"):
        initial_state(path, {"name": "unet_n2n", "width": 16}, 1)
    with pytest.raises(ConfigError, match="does not fit"):
        initial_state(path, {"name": "unet_n2n", "width": 8}, 3)


def test_missing_and_unreadable_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="run.init: .*nothing.ckpt"):
        initial_state(tmp_path / "nothing.ckpt", {"name": "unet_n2n"}, 1)
    bad = tmp_path / "bad.ckpt"
    bad.write_text("not a checkpoint")
    with pytest.raises(ConfigError, match="run.init: .*bad.ckpt"):
        initial_state(bad, {"name": "unet_n2n"}, 1)


@pytest.mark.data
def test_a_bad_init_fails_before_a_run_directory_exists(data_path, tmp_path):
    with pytest.raises(FileNotFoundError, match="run.init"):
        train(tiny(data_path, tmp_path, f"run.init={tmp_path / 'missing.ckpt'}"))
    assert not (tmp_path / "runs").exists()
