"""LPIPS: the reason it is not reported, and the wiring to the `lpips` package.

Most tests put a small stand-in `lpips` package (and `torchvision`) on sys.path, because the real
ones are not installed here; the stand-in's distance is a mean squared difference, so the tests
check noise2x's wiring (status checks, constructor arguments, grey -> RGB, [0, 1] inputs with
normalize=True, (B,) output, caching, no downloads), never LPIPS values. The real metric is tested
at the end when lpips, torchvision and the weights are all present.
"""

import importlib
import re
import sys
import textwrap

import pytest
import torch

import noise2x.metrics.lpips as lpips_module
from noise2x.metrics import LPIPS, lpips_or_none, lpips_status
from noise2x.metrics.lpips import LPIPS_NETS, lpips_backbone_path

_FAKE_LPIPS = '''
"""Stand-in for the lpips package: records its constructor arguments; MSE as the distance."""
import torch
import torchvision  # noqa: F401  (the real package imports it too)

CALLS = []
FETCH_URL = None


class LPIPS(torch.nn.Module):
    def __init__(self, **kwargs):
        super().__init__()
        CALLS.append(kwargs)
        self.lin = torch.nn.Dropout(0.5)
        self.inputs = []
        if FETCH_URL is not None:  # like torchvision asking torch.hub for a backbone file
            torch.hub.load_state_dict_from_url(FETCH_URL)

    def forward(self, in0, in1, normalize=False):
        self.inputs.append((in0.detach().clone(), normalize))
        if normalize:
            in0, in1 = 2 * in0 - 1, 2 * in1 - 1
        return (in0 - in1).square().mean(dim=(1, 2, 3), keepdim=True)
'''

_BROKEN_TORCHVISION = """
raise RuntimeError("operator torchvision::nms does not exist\\nsecond line of the error")
"""


def _is_ours(name):
    return name.split(".")[0] in ("lpips", "torchvision")


@pytest.fixture
def fake_env(tmp_path, monkeypatch):
    """An empty TORCH_HOME and a sys.path folder for stand-in packages; sys.modules restored."""
    saved = {name: mod for name, mod in sys.modules.items() if _is_ours(name)}
    for name in saved:
        del sys.modules[name]
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert lpips_backbone_path("alex").parent == tmp_path / "torch" / "hub" / "checkpoints"
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    lpips_module._MODELS.clear()
    yield site
    lpips_module._MODELS.clear()
    for name in [name for name in sys.modules if _is_ours(name)]:
        del sys.modules[name]
    sys.modules.update(saved)


def _install(site, *, lpips=True, torchvision="", linear=("alex",)):
    if torchvision is not None:
        (site / "torchvision").mkdir()
        (site / "torchvision" / "__init__.py").write_text(torchvision)
    if lpips:
        (site / "lpips" / "weights" / "v0.1").mkdir(parents=True)
        (site / "lpips" / "__init__.py").write_text(textwrap.dedent(_FAKE_LPIPS))
        for net in linear:
            (site / "lpips" / "weights" / "v0.1" / f"{net}.pth").write_bytes(b"linear")
    importlib.invalidate_caches()


def _put_backbone(net="alex"):
    path = lpips_backbone_path(net)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"backbone")
    return path


def _ready(site):
    _install(site)
    _put_backbone()
    assert lpips_status() is None
    return importlib.import_module("lpips")


def _assert_one_line(status):
    assert isinstance(status, str)
    assert status.startswith("LPIPS not reported: ")
    assert "\n" not in status


def test_status_names_the_missing_lpips_package(fake_env):
    sys.modules["lpips"] = None  # what an absent package looks like; fake_env restores it

    status = lpips_status()

    _assert_one_line(status)
    assert "`lpips` package is not installed" in status
    assert "pip install lpips" in status


def test_constructor_and_lpips_or_none_give_the_same_reason(fake_env):
    sys.modules["lpips"] = None
    images = torch.rand(2, 1, 32, 32)

    with pytest.raises(RuntimeError) as info:
        LPIPS()
    values, reason = lpips_or_none(images, images)

    assert str(info.value) == lpips_status()
    assert values is None
    assert reason == lpips_status()
    assert lpips_module._MODELS == {}


def test_status_quotes_the_first_line_of_a_broken_torchvision(fake_env):
    _install(fake_env, torchvision=_BROKEN_TORCHVISION)
    _put_backbone()

    status = lpips_status()

    _assert_one_line(status)
    assert status.endswith(
        "torchvision (needed by `lpips`) fails to import: "
        "RuntimeError: operator torchvision::nms does not exist"
    )
    with pytest.raises(RuntimeError, match="torchvision::nms"):
        LPIPS()


def test_status_names_a_missing_torchvision(fake_env):
    _install(fake_env, torchvision=None)
    _put_backbone()

    status = lpips_status()

    _assert_one_line(status)
    assert "torchvision, which `lpips` needs, is not installed" in status


def test_status_names_the_missing_backbone_file(fake_env, tmp_path):
    _install(fake_env)
    expected = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"

    status = lpips_status("alex")

    _assert_one_line(status)
    assert f"backbone weights for 'alex' not found at {expected}" in status
    assert "never downloads" in status
    with pytest.raises(RuntimeError, match=re.escape(str(expected))):
        LPIPS("alex")


@pytest.mark.parametrize("net", sorted(LPIPS_NETS))
def test_each_backbone_needs_its_own_files(fake_env, net):
    _install(fake_env, linear=("alex",))
    _put_backbone("alex")

    status = lpips_status(net)

    if net == "alex":
        assert status is None
    else:
        _assert_one_line(status)
        assert f"linear-layer weights for {net!r} are missing" in status
        assert str(fake_env / "lpips" / "weights" / "v0.1" / f"{net}.pth") in status


def test_status_names_missing_linear_weights_before_the_backbone(fake_env):
    _install(fake_env, linear=())

    status = lpips_status("alex")

    _assert_one_line(status)
    assert "lpips" in status and "linear-layer weights for 'alex' are missing" in status


def test_backbone_file_names_are_torchvisions():
    assert {net: lpips_backbone_path(net).name for net in LPIPS_NETS} == {
        "alex": "alexnet-owt-7be5be79.pth",
        "vgg": "vgg16-397923af.pth",
        "squeeze": "squeezenet1_1-b8a52dc0.pth",
    }


@pytest.mark.parametrize("call", [lpips_status, lpips_backbone_path, LPIPS])
def test_unknown_backbone_is_a_value_error(call):
    with pytest.raises(ValueError, match=r"unknown LPIPS backbone 'alexnet'; known: 'alex'"):
        call("alexnet")


def test_builds_lpips_with_local_pretrained_weights_only(fake_env):
    fake = _ready(fake_env)

    metric = LPIPS("alex")

    assert fake.CALLS == [
        {
            "net": "alex",
            "version": "0.1",
            "pretrained": True,
            "pnet_rand": False,
            "model_path": str(fake_env / "lpips" / "weights" / "v0.1" / "alex.pth"),
            "verbose": False,
        }
    ]
    assert not metric.model.training
    assert not metric.train().model.training
    assert all(not p.requires_grad for p in metric.parameters())


def test_grey_is_repeated_to_rgb_and_passed_on_0_1_with_normalize(fake_env):
    _ready(fake_env)
    clean = torch.rand(2, 1, 32, 32, generator=torch.Generator().manual_seed(0))
    denoised = clean + 0.1
    metric = LPIPS()

    values = metric(denoised, clean)

    [(seen, normalize)] = metric.model.inputs
    assert normalize is True
    assert seen.shape == (2, 3, 32, 32)
    torch.testing.assert_close(seen, denoised.expand(-1, 3, -1, -1))
    assert values.shape == (2,)
    assert values.dtype == torch.float32
    # The stand-in is an MSE after x -> 2x - 1: (2 * 0.1)^2 = 0.04 for every image.
    torch.testing.assert_close(values, torch.full((2,), 0.04))


def test_rgb_is_passed_unchanged(fake_env):
    _ready(fake_env)
    clean = torch.rand(1, 3, 31, 40, generator=torch.Generator().manual_seed(1))
    metric = LPIPS()

    values = metric(clean, clean)

    [(seen, _)] = metric.model.inputs
    torch.testing.assert_close(seen, clean)
    assert values.tolist() == [0.0]


@pytest.mark.parametrize(
    ("denoised", "clean", "message"),
    [
        ((1, 1, 32, 32), (1, 1, 32, 33), "same shape, got (1, 1, 32, 32) and (1, 1, 32, 33)"),
        ((1, 32, 32), (1, 32, 32), "(B, C, H, W)"),
        ((1, 2, 32, 32), (1, 2, 32, 32), "1 (grey) or 3 (RGB) channels"),
        ((1, 1, 30, 64), (1, 1, 30, 64), "H and W >= 31, got shape (1, 1, 30, 64)"),
    ],
)
def test_malformed_inputs_are_value_errors(fake_env, denoised, clean, message):
    _ready(fake_env)
    metric = LPIPS("alex")

    with pytest.raises(ValueError, match=re.escape(message)):
        metric(torch.zeros(denoised), torch.zeros(clean))


def test_integer_images_are_rejected(fake_env):
    _ready(fake_env)
    images = torch.zeros(1, 1, 32, 32, dtype=torch.uint8)

    with pytest.raises(ValueError, match="floating"):
        LPIPS()(images, images)


def test_lpips_or_none_builds_once_per_net_and_device(fake_env):
    fake = _ready(fake_env)
    clean = torch.rand(3, 1, 32, 32, generator=torch.Generator().manual_seed(2))

    first, reason = lpips_or_none(clean + 0.05, clean)
    second, _ = lpips_or_none(clean, clean)

    assert reason is None
    assert len(fake.CALLS) == 1
    assert list(lpips_module._MODELS) == [("alex", "cpu")]
    assert first.shape == (3,) and not first.requires_grad
    torch.testing.assert_close(first, torch.full((3,), 0.01))
    assert second.tolist() == [0.0, 0.0, 0.0]


def test_building_cannot_download(fake_env):
    fake = _ready(fake_env)
    fake.FETCH_URL = "https://example.invalid/not-on-disk-0123abcd.pth"  # never resolves
    original = torch.hub.download_url_to_file

    with pytest.raises(RuntimeError, match="refused to download .*not-on-disk-0123abcd.pth"):
        LPIPS()

    assert torch.hub.download_url_to_file is original
    assert not (lpips_backbone_path().parent / "not-on-disk-0123abcd.pth").exists()


def test_building_reads_a_backbone_file_that_is_there(fake_env):
    fake = _ready(fake_env)
    backbone = lpips_backbone_path("alex")
    torch.save({"w": torch.ones(1)}, backbone)
    fake.FETCH_URL = "https://download.pytorch.org/models/" + backbone.name

    LPIPS()

    assert len(fake.CALLS) == 1


def _real_status():
    status = lpips_status("alex")
    return status if status is not None else ""


@pytest.mark.skipif(bool(_real_status()), reason=_real_status() or "LPIPS is available")
def test_real_lpips_is_zero_for_identical_images_and_grows_with_noise():
    generator = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0, 1, 64)
    clean = (0.5 * ramp[None, :] + 0.5 * ramp[:, None]).expand(2, 1, 64, 64).clone()
    clean[:, :, 16:48, 16:48] = 0.9
    light = clean + 0.05 * torch.randn(clean.shape, generator=generator)
    heavy = clean + 0.2 * torch.randn(clean.shape, generator=generator)
    lpips_module._MODELS.clear()

    same, reason = lpips_or_none(clean, clean)
    light_values, _ = lpips_or_none(light, clean)
    heavy_values, _ = lpips_or_none(heavy, clean)

    assert reason is None
    assert same.shape == (2,)
    assert same.abs().max().item() < 1e-6
    assert (light_values > 0.01).all()
    assert (heavy_values > light_values).all()
