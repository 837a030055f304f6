import pytest

from noise2x.train.config import ConfigError, compose_config, group_options


def test_default_config_has_the_official_n2n_optimiser():
    cfg = compose_config()
    assert cfg["method"]["name"] == "n2n" and cfg["net"]["name"] == "unet_n2n"
    assert cfg["optim"] == {"lr": 3e-4, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "rampdown": 0.3}


def test_group_choices_and_overrides_apply():
    cfg = compose_config(
        ["net=resunet", "loss=l1_perceptual", "noise=poisson", "noise.lam=30", "data.root=x"]
    )
    assert cfg["net"]["name"] == "resunet" and cfg["loss"]["lam"] == 0.1
    assert cfg["noise"] == {"name": "poisson", "lam": 30.0, "clip": False}
    assert cfg["data"]["root"] == "x"


def test_the_issue_example_composes():
    cfg = compose_config(
        [
            "net=resunet",
            "loss=l1_perceptual",
            "data.root=../shared/data/CBSD432",
            "noise.sigma=25",
            "trainer.max_steps=2000",
        ]
    )
    assert cfg["trainer"]["max_steps"] == 2000 and cfg["noise"]["sigma"] == 25


def test_ddp_trainer_group_extends_the_default():
    cfg = compose_config(["trainer=ddp"])
    assert cfg["trainer"]["strategy"] == "ddp" and cfg["trainer"]["devices"] == 2
    assert cfg["trainer"]["max_steps"] == compose_config()["trainer"]["max_steps"]


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (
            ["trainer.max_stpes=5"],
            "unknown config key 'trainer.max_stpes'; did you mean 'trainer.max_steps'",
        ),
        (["data.rooot=x"], "did you mean 'data.root'"),
        (["noise.sigmaa=3"], "did you mean 'noise.sigma'"),
        (["net=resunett"], "unknown net 'resunett'; did you mean 'resunet'"),
        (["trainer.max_steps=abc"], "config key 'trainer.max_steps'"),
        (["net.width=1.5"], "config key 'net.width' must be int, got 1.5"),
        (["loss=l1_perceptual", "loss.lam=abc"], "config key 'loss.lam' must be float"),
        (["data.mode=n3n"], "config key 'data.mode' is 'n3n'; choices: n2n, n2c"),
        (
            ["logger.names=[csv,tensorbord]"],
            "unknown logger 'tensorbord'; did you mean 'tensorboard'",
        ),
        (["data.batch_size=0"], "'data.batch_size' must be >= 1"),
        (["+foo=1"], "not of the form key=value"),
        (["seed"], "not of the form key=value"),
    ],
)
def test_config_errors_name_the_key(override, message):
    with pytest.raises(ConfigError, match=None) as info:
        compose_config(override)
    assert message in str(info.value)


GROUPS = ("method", "net", "loss", "noise", "data", "trainer", "logger")


@pytest.mark.parametrize(
    ("group", "option"), [(g, o) for g in GROUPS for o in group_options(g)], ids=str
)
def test_every_yaml_of_every_group_validates(group, option):
    config = compose_config([f"{group}={option}"])
    if group in ("method", "net", "loss", "noise", "data"):
        assert config[group]["name"] == option


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("noise.sigma=-10", "'noise.sigma'"),
        ("method=n2v", None),
        ("method.ratio=2", "'method.ratio'"),
    ],
)
def test_out_of_range_values_are_config_errors_naming_the_key(override, key):
    """Issue 14: noise.sigma=-10 exited 1 at training time without naming the key."""
    overrides = ["method=n2v", override] if override.startswith("method.") else [override]
    if key is None:
        compose_config(overrides)  # the defaults are in range
        return
    with pytest.raises(ConfigError, match=key):
        compose_config(overrides)
