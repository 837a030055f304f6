"""publish: the last step of every write; a concurrent writer never replaces a finished file."""

import numpy as np
import pytest

from noise2x.data import io
from noise2x.data.atomic import publish
from noise2x.data.io import read_image, write_image


def test_the_losing_writer_of_a_race_is_told_in_cli_words_and_replaces_nothing(
    tmp_path, monkeypatch
):
    target = tmp_path / "out.png"
    first = np.zeros((1, 8, 8), np.float32)
    writer = io._WRITERS["png"]

    def slow_writer(tmp, fmt, pixels, like):  # another process finishes first, meanwhile
        writer(tmp, fmt, pixels, like)
        monkeypatch.setitem(io._WRITERS, "png", writer)
        write_image(target, first)

    monkeypatch.setitem(io._WRITERS, "png", slow_writer)
    with pytest.raises(FileExistsError, match="another process wrote it meanwhile") as err:
        write_image(target, np.ones((1, 8, 8), np.float32))
    assert "overwrite=True" not in str(err.value)
    assert read_image(target)[0].max() == 0.0  # the first writer's file is intact
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]  # no temporary left


def test_publish_with_overwrite_replaces(tmp_path):
    (tmp_path / "a.tmp").write_text("new")
    (tmp_path / "a").write_text("old")
    publish(tmp_path / "a.tmp", tmp_path / "a", overwrite=True)
    assert (tmp_path / "a").read_text() == "new" and not (tmp_path / "a.tmp").exists()
