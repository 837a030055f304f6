import pytest

from noise2x.train.module import n2n_rampdown


def test_rampdown_is_one_then_falls_to_zero():
    values = [n2n_rampdown(s, 100, 0.3) for s in range(101)]
    assert values[:71] == [1.0] * 71
    assert all(a >= b for a, b in zip(values[70:], values[71:], strict=False))
    assert values[100] == 0.0


def test_rampdown_zero_keeps_the_rate():
    assert n2n_rampdown(99, 100, 0.0) == 1.0


@pytest.mark.parametrize("step", [0, 50, 85])
def test_rampdown_matches_the_official_formula(step):
    import math

    start = 70
    expected = 1.0 if step < start else (0.5 + math.cos(math.pi * (step - start) / 30) / 2) ** 2
    assert n2n_rampdown(step, 100, 0.3) == pytest.approx(expected)
