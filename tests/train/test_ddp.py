"""Two CPU processes (gloo) train a few steps: different data, the same final weights."""

import json

import lightning.pytorch as pl
import pytest
import torch

from noise2x.train.runs import train


class RankReport(pl.Callback):
    """Write, per rank, the sums of the batches it trained on and its final weights."""

    def __init__(self, folder: str) -> None:
        self.folder = folder
        self.batches: list[float] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        self.batches.append(float(batch[0].sum()))

    def on_train_end(self, trainer, module):
        weights = torch.cat([p.detach().flatten() for p in module.net.parameters()])
        report = {"batches": self.batches, "weights": weights.tolist()[:2000]}
        with open(f"{self.folder}/rank{trainer.global_rank}.json", "w") as f:
            json.dump(report, f)


@pytest.mark.data
@pytest.mark.slow
def test_two_process_ddp_sees_different_data_and_ends_with_the_same_weights(data_path, tmp_path):
    train(
        [
            f"data.root={data_path('Set12')}",
            "data.val_count=2",
            "data.val_max_images=1",
            "data.patch_size=32",
            "data.batch_size=2",
            "data.num_workers=0",
            "net.width=8",
            "trainer=ddp",
            "trainer.strategy=ddp_spawn",
            "trainer.accelerator=cpu",
            "trainer.max_steps=4",
            "trainer.progress_bar=false",
            "logger=none",
            f"run.root={tmp_path / 'runs'}",
        ],
        callbacks=[RankReport(str(tmp_path))],
    )
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    assert len(ranks[0]["batches"]) == len(ranks[1]["batches"]) == 4
    assert all(a != b for a, b in zip(ranks[0]["batches"], ranks[1]["batches"], strict=True))
    assert ranks[0]["weights"] == ranks[1]["weights"]
