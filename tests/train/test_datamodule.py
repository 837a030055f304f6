from noise2x.train.datamodule import StepSampler


def test_step_sampler_starts_at_the_current_global_step():
    step = {"value": 0}
    sampler = StepSampler(3, 2, start_step=lambda: step["value"])
    assert list(sampler) == [0, 1, 2, 3, 4, 5]
    step["value"] = 7  # a run resumed at step 7 sees the batches of steps 7, 8, 9
    assert list(sampler) == [14, 15, 16, 17, 18, 19]
    assert len(sampler) == 6


def test_step_sampler_gives_each_rank_different_samples():
    ranks = [set(StepSampler(4, 3, lambda: 2, rank=r, world_size=2)) for r in (0, 1)]
    assert not ranks[0] & ranks[1]
    assert sorted(ranks[0] | ranks[1]) == list(range(12, 36))
