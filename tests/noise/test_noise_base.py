"""Contract tests shared by every registered noise model, and the builders."""

import pytest
import torch

from noise2x.noise import NOISES, MaskedNoiseModel, add_noise, build_noise

# One valid parameter set per registry name; test_examples_cover_registry catches drift.
EXAMPLES = {
    "gaussian": {"sigma": 25},
    "poisson": {"lam": 30},
    "poisson_gaussian": {"lam": 30, "sigma": 10},
    "structured": {"sigma": 10, "row_sigma": 5, "corr_sigma": 5, "length": 5},
    "bernoulli": {"p": 0.5},
    "impulse": {"p": 0.3},
    "text": {"coverage": 0.2},
    "lines": {"fraction": 0.25},
}


def clean_images(shape=(2, 3, 32, 32)):
    return torch.rand(shape, generator=torch.Generator().manual_seed(123))


def test_examples_cover_registry():
    assert sorted(EXAMPLES) == NOISES.names()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_same_seed_gives_identical_output(name):
    clean = clean_images()

    first = add_noise(clean, name, seed=7, **EXAMPLES[name])
    second = add_noise(clean, name, seed=7, **EXAMPLES[name])

    assert torch.equal(first, second)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_different_seed_gives_different_output(name):
    clean = clean_images()

    first = add_noise(clean, name, seed=7, **EXAMPLES[name])
    second = add_noise(clean, name, seed=8, **EXAMPLES[name])

    assert not torch.equal(first, second)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_generator_state_advances_between_calls(name):
    model = build_noise(name, **EXAMPLES[name])
    generator = torch.Generator().manual_seed(0)
    clean = clean_images()

    assert not torch.equal(model(clean, generator), model(clean, generator))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_keeps_shape_dtype_and_leaves_input_alone(name):
    clean = clean_images((2, 1, 16, 24))
    before = clean.clone()

    noisy = add_noise(clean, name, **EXAMPLES[name])

    assert noisy.shape == clean.shape
    assert noisy.dtype == torch.float32
    assert torch.equal(clean, before)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_empty_batch_is_allowed(name):
    clean = torch.zeros((0, 3, 8, 8))

    assert add_noise(clean, name, **EXAMPLES[name]).shape == (0, 3, 8, 8)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_float64_input_keeps_dtype(name):
    clean = clean_images((1, 3, 16, 16)).double()

    assert add_noise(clean, name, **EXAMPLES[name]).dtype == torch.float64


@pytest.mark.parametrize("name", sorted(EXAMPLES))
@pytest.mark.parametrize("shape", [(3, 8, 8), (1, 1, 1, 8, 8), (8,)])
def test_rejects_non_4d_input_quoting_shape(name, shape):
    model = build_noise(name, **EXAMPLES[name])

    with pytest.raises(ValueError, match=str(shape).replace("(", r"\(").replace(")", r"\)")):
        model(torch.zeros(shape))


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_rejects_integer_input(name):
    model = build_noise(name, **EXAMPLES[name])

    with pytest.raises(ValueError, match="floating-point"):
        model(torch.zeros((1, 1, 8, 8), dtype=torch.uint8))


MASKED = [name for name in NOISES.names() if issubclass(NOISES.get(name), MaskedNoiseModel)]


def test_pixel_replacing_models_have_masks():
    assert MASKED == ["bernoulli", "impulse", "lines", "text"]


@pytest.mark.parametrize("name", MASKED)
def test_masked_models_agree_with_plain_call(name):
    model = build_noise(name, **EXAMPLES[name])
    clean = clean_images()

    noisy, mask = model.sample_with_mask(clean, torch.Generator().manual_seed(3))

    assert torch.equal(noisy, model(clean, torch.Generator().manual_seed(3)))
    assert mask.shape == (2, 1, 32, 32)
    assert mask.dtype == clean.dtype
    assert set(mask.unique().tolist()) <= {0.0, 1.0}
    kept = mask.bool().expand_as(clean)
    assert torch.equal(noisy[kept], clean[kept])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_params_round_trip_through_build_noise(name):
    model = build_noise(name, **EXAMPLES[name])

    rebuilt = build_noise(name, **model.params())

    assert rebuilt.params() == model.params()
    assert type(rebuilt).name == name


def test_build_noise_unknown_name_lists_known_names():
    with pytest.raises(KeyError, match="gaussian.*poisson"):
        build_noise("gausian", sigma=25)


def test_build_noise_unknown_param_names_it_and_accepted_ones():
    with pytest.raises(ValueError, match=r"'p'.*accepted: sigma, clip"):
        build_noise("gaussian", sigma=25, p=0.5)


def test_build_noise_suggests_close_param():
    with pytest.raises(ValueError, match="Did you mean 'sigma'"):
        build_noise("gaussian", sigm=25)


def test_build_noise_missing_required_param_names_it():
    with pytest.raises(ValueError, match="needs parameter.*lam"):
        build_noise("poisson_gaussian", sigma=10)


def test_build_noise_unknown_param_on_masked_model_lists_accepted():
    with pytest.raises(ValueError, match=r"'sigma'.*accepted: p, clip"):
        build_noise("bernoulli", p=0.5, sigma=25)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_model_accepts_clip_as_the_cli_passes_it(name):
    model = build_noise(name, clip=False, **EXAMPLES[name])

    assert model.clip is False
    assert "clip" in model.param_names()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_clip_bounds_output_even_for_out_of_range_input(name):
    clean = clean_images() * 3 - 1
    model = build_noise(name, clip=True, **EXAMPLES[name])

    noisy = model(clean, torch.Generator().manual_seed(0))

    assert noisy.min() >= 0
    assert noisy.max() <= 1


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_clip_is_off_by_default(name):
    clean = clean_images() * 3 - 1

    noisy = add_noise(clean, name, **EXAMPLES[name])

    assert noisy.max() > 1  # (Poisson clamps negative rates, so only the top is checked)


@pytest.mark.parametrize("name", MASKED)
def test_sample_with_mask_clips_when_asked(name):
    clean = clean_images() * 3 - 1
    model = build_noise(name, clip=True, **EXAMPLES[name])

    noisy, _ = model.sample_with_mask(clean, torch.Generator().manual_seed(0))

    assert noisy.min() >= 0
    assert noisy.max() <= 1


def test_generator_on_other_device_type_is_rejected():
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device")
    model = build_noise("gaussian", sigma=25)

    with pytest.raises(ValueError, match="generator"):
        model(torch.zeros(1, 1, 4, 4), torch.Generator(device="cuda"))
