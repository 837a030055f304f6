"""The run directory's lock: one training process per run."""

import os
import re

import pytest

from noise2x.train.lock import LOCK_NAME, RunInUse, run_lock


def test_a_locked_run_refuses_a_second_holder_and_names_the_first(tmp_path):
    with run_lock(tmp_path) as path:
        assert path == tmp_path / LOCK_NAME
        assert path.read_text().strip() == str(os.getpid())
        with pytest.raises(RunInUse, match=rf"{re.escape(str(tmp_path))}.*pid {os.getpid()}"):
            with run_lock(tmp_path):
                pass
    with run_lock(tmp_path):  # released at the end of the block
        pass


def test_the_lock_is_released_when_the_block_raises(tmp_path):
    with pytest.raises(ZeroDivisionError), run_lock(tmp_path):
        raise ZeroDivisionError
    with run_lock(tmp_path):
        pass


def test_extra_ddp_ranks_do_not_lock(tmp_path, monkeypatch):
    with run_lock(tmp_path):
        monkeypatch.setenv("LOCAL_RANK", "1")
        with run_lock(tmp_path):  # the launcher's rank 0 holds it; rank 1 trains the same run
            pass


def test_a_missing_run_directory_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"), run_lock(tmp_path / "nowhere"):
        pass
