"""Neighbor2Neighbor (issue 6, items 2 and 5): the loss, the gamma ramp, the data, training."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from noise2x.data.pairs import PairingError
from noise2x.methods import METHODS, Batch, Neighbor2Neighbor
from noise2x.methods.ne2ne import ne2ne_gamma, ne2ne_terms, neighbor_validation_pair
from noise2x.ops.downsamplers import DOWNSAMPLERS
from noise2x.train.config import ConfigError, compose_config
from noise2x.train.datamodule_single import (
    NoisyImageDataset,
    build_datasets,
    check_data,
)


def _small_net(channels: int = 1) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(channels, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, channels, 3, padding=1)
    )


def _affine_net(a: float, b: float) -> nn.Module:
    """A 1x1 convolution computing a * x + b per pixel (it commutes with sub-sampling)."""
    net = nn.Conv2d(1, 1, 1)
    with torch.no_grad():
        net.weight.fill_(a)
        net.bias.fill_(b)
    return net


class _Constant(nn.Module):
    def forward(self, x):
        return torch.full_like(x, 0.3)


class _GradRecorder(nn.Module):
    """Identity net that records (input height, grad enabled) of every call."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.calls: list[tuple[int, bool]] = []

    def forward(self, x):
        self.calls.append((x.shape[-2], torch.is_grad_enabled()))
        return x * self.scale


# --- the loss ---------------------------------------------------------------------------------


def test_ne2ne_is_registered_with_its_config():
    assert METHODS.get("ne2ne") is Neighbor2Neighbor
    assert compose_config(["method=ne2ne"])["method"] == {"name": "ne2ne", "gamma": 2.0, "seed": 0}


def test_ne2ne_loss_with_gamma_zero_equals_plain_l2_of_the_same_draw():
    net, noisy = _small_net(), torch.rand(2, 1, 16, 16)
    method = Neighbor2Neighbor(gamma=0.0, total_steps=10)

    loss = method.training_loss(net, Batch(noisy=noisy), step=3)

    split = DOWNSAMPLERS.get("random_neighbor").draw(noisy, method.generator(3))
    first, second = split(noisy)
    assert torch.allclose(loss, F.mse_loss(net(first), second), rtol=1e-6, atol=0)


def test_regulariser_is_zero_for_the_identity_net():
    noisy = torch.rand(3, 2, 8, 8)

    rec, reg = ne2ne_terms(nn.Identity(), noisy, torch.Generator().manual_seed(1))

    first, second = DOWNSAMPLERS.get("random_neighbor")(noisy, torch.Generator().manual_seed(1))
    assert reg.item() == 0.0
    assert torch.allclose(rec, (first - second).square().mean())


def test_regulariser_equals_reconstruction_for_a_constant_net():
    rec, reg = ne2ne_terms(_Constant(), torch.rand(2, 1, 8, 8), torch.Generator().manual_seed(2))
    assert rec.item() > 0
    assert torch.allclose(reg, rec)


def test_regulariser_of_a_pointwise_affine_net_is_the_formula():
    # f(x) = a x + b commutes with sub-sampling, so diff - (g1(f(y)) - g2(f(y))) = (a-1) g2(y) + b
    a, b, noisy = 0.7, 0.05, torch.rand(2, 1, 8, 8)

    rec, reg = ne2ne_terms(_affine_net(a, b), noisy, torch.Generator().manual_seed(3))

    first, second = DOWNSAMPLERS.get("random_neighbor")(noisy, torch.Generator().manual_seed(3))
    assert torch.allclose(rec, (a * first + b - second).square().mean(), rtol=1e-5)
    assert torch.allclose(reg, ((a - 1) * second + b).square().mean(), rtol=1e-5)


def test_loss_is_reconstruction_plus_ramped_gamma_times_regulariser():
    net, noisy = _small_net(), torch.rand(2, 1, 16, 16)
    method = Neighbor2Neighbor(gamma=2.0, total_steps=10)

    loss = method.training_loss(net, Batch(noisy=noisy), step=4)  # gamma = 2 * 5 / 10 = 1

    rec, reg = ne2ne_terms(net, noisy, method.generator(4))
    assert reg.item() > 0
    assert torch.allclose(loss, rec + 1.0 * reg, rtol=1e-6)


def test_full_image_pass_has_no_gradient_and_is_skipped_when_gamma_is_zero():
    noisy = torch.rand(1, 1, 8, 8)
    net = _GradRecorder()
    Neighbor2Neighbor(gamma=1.0).training_loss(net, Batch(noisy=noisy), step=0)
    assert net.calls == [(4, True), (8, False)]  # f(g1(y)) with gradient, f(y) without

    net = _GradRecorder()
    Neighbor2Neighbor(gamma=0.0).training_loss(net, Batch(noisy=noisy), step=0)
    assert net.calls == [(4, True)]


def test_regulariser_gradient_flows_only_through_the_sub_image_pass():
    net, noisy = _affine_net(0.5, 0.0), torch.rand(1, 1, 8, 8)
    _, reg = ne2ne_terms(net, noisy, torch.Generator().manual_seed(0))
    reg.backward()
    first, second = DOWNSAMPLERS.get("random_neighbor")(noisy, torch.Generator().manual_seed(0))
    # d/da mean((a g1 + b - g2 - a (g1 - g2))^2) with f(y) held fixed: 2 mean(r * g1)
    residual = 0.5 * first - second - 0.5 * (first - second)
    assert torch.allclose(net.weight.grad.reshape(()), 2 * (residual * first).mean(), rtol=1e-5)


def test_training_loss_reads_only_the_noisy_input():
    net, noisy = _small_net(), torch.rand(2, 1, 16, 16)
    method = Neighbor2Neighbor(total_steps=5)
    alone = method.training_loss(net, Batch(noisy=noisy), step=1)
    with_views = Batch(noisy=noisy, target=torch.rand_like(noisy), clean=torch.rand_like(noisy))
    assert torch.equal(alone, method.training_loss(net, with_views, step=1))


def test_draws_are_a_function_of_seed_and_step():
    method = Neighbor2Neighbor(seed=0)
    same = (
        torch.rand(4, generator=method.generator(7)),
        torch.rand(4, generator=method.generator(7)),
    )
    assert torch.equal(*same)
    assert not torch.equal(same[0], torch.rand(4, generator=method.generator(8)))
    other_seed = Neighbor2Neighbor(seed=1).generator(7)
    assert not torch.equal(same[0], torch.rand(4, generator=other_seed))


def test_sub_images_never_share_a_pixel_and_are_edge_neighbours():
    b, c, h, w = 3, 2, 8, 10
    index = torch.arange(b * c * h * w, dtype=torch.float32).reshape(b, c, h, w)
    for step in range(20):  # the draws the method makes at 20 steps
        generator = Neighbor2Neighbor(seed=0).generator(step)
        first, second = DOWNSAMPLERS.get("random_neighbor").draw(index, generator)(index)
        assert (first != second).all()
        rows_a, cols_a = (first.long() % (h * w)) // w, first.long() % w
        rows_b, cols_b = (second.long() % (h * w)) // w, second.long() % w
        assert torch.equal(rows_a // 2, rows_b // 2) and torch.equal(cols_a // 2, cols_b // 2)
        assert ((rows_a - rows_b).abs() + (cols_a - cols_b).abs() == 1).all()


def test_odd_crops_are_refused_with_the_shape():
    with pytest.raises(ValueError, match=r"\(1, 1, 7, 8\)"):
        Neighbor2Neighbor().training_loss(_small_net(), Batch(noisy=torch.rand(1, 1, 7, 8)), 0)
    with pytest.raises(ConfigError, match="data.patch_size' must be a multiple of 2"):
        compose_config(["method=ne2ne", "data.patch_size=63"])


def test_denoise_is_the_net_on_the_whole_image():
    net, noisy = _small_net(3), torch.rand(1, 3, 13, 9)
    assert torch.equal(Neighbor2Neighbor().denoise(net, noisy), net(noisy))


def test_bad_settings_are_refused():
    from noise2x.losses import build_loss

    with pytest.raises(ValueError, match="gamma"):
        Neighbor2Neighbor(gamma=-1.0)
    with pytest.raises(ValueError, match="leave loss=l2, got loss 'l1'"):
        Neighbor2Neighbor(loss=build_loss("l1"))
    with pytest.raises(ConfigError, match="method 'ne2ne' works with loss=l2 only, got loss='l1'"):
        compose_config(["method=ne2ne", "loss=l1"])


# --- the gamma ramp -----------------------------------------------------------------------------


def test_gamma_ramps_linearly_to_its_value_at_the_last_step():
    assert [ne2ne_gamma(s, 10, 2.0) for s in (0, 4, 9, 50)] == pytest.approx([0.2, 1.0, 2.0, 2.0])
    assert ne2ne_gamma(3, None, 2.0) == 2.0  # no length of training: no ramp
    method = Neighbor2Neighbor(gamma=1.0, total_steps=4)
    assert [method.gamma_at(s) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]


@pytest.mark.parametrize(
    ("step", "total", "gamma"), [(-1, 10, 2.0), (0, 0, 2.0), (0, 10, -0.1), (0, 10, float("nan"))]
)
def test_gamma_ramp_rejects_bad_arguments(step, total, gamma):
    with pytest.raises(ValueError):
        ne2ne_gamma(step, total, gamma)


# --- data=noisy_folder ------------------------------------------------------------------------


def _write_folder(folder, images, names=None):
    import imageio.v3 as iio

    folder.mkdir(parents=True, exist_ok=True)
    for i, image in enumerate(images):
        name = names[i] if names else f"{i + 1:02d}.png"
        iio.imwrite(folder / name, (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8))


def _noisy_folder(tmp_path, n=5, size=40):
    rng = np.random.default_rng(0)
    clean = [
        np.tile(np.linspace(0, 1, size, dtype=np.float32), (size, 1)) * (i + 1) / n
        for i in range(n)
    ]
    noisy = [c + rng.normal(0, 0.1, c.shape) for c in clean]
    _write_folder(tmp_path / "noisy", noisy)
    _write_folder(tmp_path / "clean", clean)
    return tmp_path / "noisy", tmp_path / "clean"


def _data_node(**overrides):
    node = compose_config(["method=ne2ne", "data=noisy_folder"])["data"]
    node.update(overrides)
    return node


def test_noisy_folder_refuses_methods_that_need_a_target(tmp_path):
    from noise2x.train.runs import train

    noisy_dir, _ = _noisy_folder(tmp_path)
    with pytest.raises(ConfigError, match="method 'n2n' needs a target: use method=ne2ne"):
        train(["data=noisy_folder", f"data.root={noisy_dir}", f"run.root={tmp_path / 'runs'}"])
    assert not (tmp_path / "runs").exists()  # refused before any run directory is made
    with pytest.raises(ConfigError, match="unknown config key 'data.fixed_noise'"):
        compose_config(["method=ne2ne", "data=noisy_folder", "data.fixed_noise=false"])


def test_noisy_folder_validates_on_a_fixed_neighbour_pair_without_clean_images(tmp_path):
    noisy_dir, _ = _noisy_folder(tmp_path)
    data = _data_node(root=str(noisy_dir), val_count=2, patch_size=32)

    train_set, val = build_datasets(data, check_data(data), neighbor_validation_pair, seed=0)

    assert len(train_set) == 3 and len(val) == 2
    noisy, target, clean = train_set[5]
    assert noisy.shape == (1, 32, 32) and target.isnan().all() and clean.isnan().all()
    assert torch.equal(noisy, train_set[5][0])  # a sample is a function of its index
    first, second = val[0]
    assert first.shape == second.shape == (1, 20, 20)
    import imageio.v3 as iio

    held_out = torch.from_numpy(iio.imread(noisy_dir / "04.png").astype(np.float32) / 255)[None]
    expected = neighbor_validation_pair(held_out, data["val_seed"])
    assert torch.equal(first, expected[0]) and torch.equal(second, expected[1])


def test_noisy_folder_validates_against_clean_images_matched_by_stem(tmp_path):
    noisy_dir, clean_dir = _noisy_folder(tmp_path)
    data = _data_node(root=str(noisy_dir), val_count=1, val_clean=str(clean_dir), patch_size=32)

    _, val = build_datasets(data, check_data(data), neighbor_validation_pair, seed=0)

    import imageio.v3 as iio

    noisy, clean = val[0]
    expected = iio.imread(clean_dir / "05.png").astype(np.float32) / 255
    assert noisy.shape == clean.shape == (1, 40, 40)
    assert np.array_equal(clean[0].numpy(), expected)


def test_noisy_folder_lists_every_missing_clean_image(tmp_path):
    noisy_dir, clean_dir = _noisy_folder(tmp_path)
    for name in ("04.png", "05.png"):
        (clean_dir / name).unlink()
    data = _data_node(root=str(noisy_dir), val_count=2, val_clean=str(clean_dir))
    with pytest.raises(PairingError, match="2 problem.*04.png has no clean.*05.png has no clean"):
        check_data(data)


def test_noisy_folder_needs_two_images_and_a_root(tmp_path):
    noisy_dir, _ = _noisy_folder(tmp_path, n=1)
    with pytest.raises(ValueError, match="1 image.*need at least 2"):
        check_data(_data_node(root=str(noisy_dir), val_count=2))
    with pytest.raises(ValueError, match="data.root=DIR"):
        check_data(_data_node())


def test_noisy_image_dataset_refuses_small_images():
    with pytest.raises(ValueError, match="1 image.*smaller than patch_size=32"):
        NoisyImageDataset([torch.rand(1, 40, 40), torch.rand(1, 20, 40)], patch_size=32)


# --- training through noise2x train ----------------------------------------------------------


def _tiny(tmp_path, *extra):
    return [
        "method=ne2ne",
        "data.patch_size=32",
        "data.batch_size=2",
        "data.num_workers=0",
        "net.width=8",
        "trainer.max_steps=3",
        "trainer.threads=1",
        "trainer.progress_bar=false",
        "logger=none",
        f"run.root={tmp_path / 'runs'}",
        *extra,
    ]


@pytest.mark.data
def test_train_ne2ne_on_synthetic_data_with_the_fixed_noisy_set(data_path, tmp_path):
    from noise2x.train.runs import load_run_config, train

    result = train(
        _tiny(
            tmp_path,
            f"data.root={data_path('Set12')}",
            "data.val_count=1",
            "data.val_max_images=1",
            "data.samples_per_epoch=4",
            "method.gamma=1.5",
        )
    )

    assert result.steps == 3 and result.last_checkpoint.is_file()
    assert np.isfinite(result.val_psnr_db)
    config = load_run_config(result.run_dir)
    assert config["method"] == {"name": "ne2ne", "gamma": 1.5, "seed": 0}
    assert config["data"]["fixed_noise"] is True


def test_method_settings_reach_the_method():
    from noise2x.train.module import build_dataset_method

    config = compose_config(["method=ne2ne", "method.gamma=0.5", "trainer.max_steps=8"])
    method = build_dataset_method(config)
    assert (method.gamma, method.total_steps, method.gamma_at(7)) == (0.5, 8, 0.5)


@pytest.mark.parametrize("with_clean", [False, True])
def test_train_ne2ne_on_a_folder_of_single_noisy_images(tmp_path, with_clean):
    from noise2x.train.runs import train

    noisy_dir, clean_dir = _noisy_folder(tmp_path, n=4)
    extra = [f"data.val_clean={clean_dir}"] if with_clean else []
    result = train(
        _tiny(tmp_path, "data=noisy_folder", f"data.root={noisy_dir}", "data.val_count=1", *extra)
    )

    assert result.steps == 3 and result.best_checkpoint.is_file()
    assert np.isfinite(result.val_psnr_db)  # validated after the 2-step epoch
    assert list((result.run_dir / "samples").glob("step-*.png"))


# --- effect on real images --------------------------------------------------------------------


@pytest.mark.data
def test_short_training_on_set12_crops_denoises_a_held_out_image(data_path):
    import imageio.v3 as iio

    from noise2x.metrics import psnr
    from noise2x.nets import build_net

    def load(data_path, i):
        path = data_path("Set12", f"{i:02d}.png")
        return torch.from_numpy(iio.imread(path).astype(np.float32) / 255)[None]

    def gaussian(clean, seed):  # sigma = 25, drawn once: the fixed noisy set
        return clean + 25 / 255 * torch.randn(
            clean.shape, generator=torch.Generator().manual_seed(seed)
        )

    noisy_set = [gaussian(load(data_path, i), i) for i in range(1, 12)]
    clean_val = load(data_path, 12)[None, :, 192:320, 192:320]
    noisy_val = gaussian(clean_val, 100)
    steps, net = 60, build_net("unet_n2n", 1, seed=0, width=8)
    method = Neighbor2Neighbor(gamma=2.0, total_steps=steps)
    optimizer = torch.optim.Adam(net.parameters(), lr=3e-3)
    generator, losses = torch.Generator().manual_seed(0), []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for step in range(steps):
            crops = []
            for _ in range(8):
                image = noisy_set[int(torch.randint(len(noisy_set), (1,), generator=generator))]
                top, left = (
                    int(torch.randint(n - 63, (1,), generator=generator)) for n in image.shape[1:]
                )
                crops.append(image[:, top : top + 64, left : left + 64])
            loss = method.training_loss(net, Batch(noisy=torch.stack(crops)), step)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        with torch.no_grad():
            denoised = method.denoise(net, noisy_val).clamp(0, 1)
    finally:
        torch.set_num_threads(threads)

    # measured: loss 0.123 -> 0.059 (first/last 10 steps), PSNR 20.14 -> 24.78 dB (+4.6 dB), ~7 s
    assert np.mean(losses[-10:]) < 0.7 * np.mean(losses[:10])
    gain = psnr(denoised, clean_val).item() - psnr(noisy_val, clean_val).item()
    assert gain > 3.0


def test_a_folder_too_small_for_val_count_holds_out_what_it_can_and_says_so(tmp_path):
    """Issue 14: four images with the default data.val_count=4 used to refuse to train."""
    from noise2x.train.datamodule_single import build_datasets

    noisy_dir, _ = _noisy_folder(tmp_path, n=4, size=64)
    node = _data_node(root=str(noisy_dir), val_count=4, patch_size=32)
    with pytest.warns(UserWarning, match="cannot spare data.val_count=4; holding out 1"):
        _, val = build_datasets(node, 1, neighbor_validation_pair, seed=0)
    assert len(val) == 1
