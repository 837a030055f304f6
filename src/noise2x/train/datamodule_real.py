"""The data module of real noisy data: matched folders, movies, repeated captures.

``data=pairs`` (``data.a=DIR data.b=DIR``), ``data=frames`` (``data.root=DIR`` of movies,
optionally ``data.window=k``) and ``data=captures`` (``data.root=DIR`` of one subfolder per field
of view; optionally ``data.fields=[...]``); their YAML files in ``noise2x/conf/data`` document
every key. `check_data` checks the whole data set from file headers and raises one error that
lists every problem; ``noise2x.train.runs.train`` calls it before it creates the run directory.

Batches are those of `~noise2x.train.datamodule.SyntheticDataModule`, in the same global-step
order (`~noise2x.train.datamodule.StepSampler`, exact resume): training (input, target, NaN)
crops, (B, C, P, P) float32 each (real data has no clean image: the third item is NaN), and
validation (noisy, noisy target) whole images, one per batch. So ``val/psnr_db`` is the PSNR of
the denoised input against a second *noisy* view (a noisy-target PSNR): lower than the PSNR
against a clean image would be, but, since E|f(a) - b|^2 = E|f(a) - clean|^2 + var(noise of b)
for independent noise, it ranks models (and picks ``best.ckpt``) as a clean PSNR would, in
expectation.

Held out for validation, never trained on: the last ``val_count`` pairs (``pairs``), movies
(``frames``) or fields of view (``captures``), in natural name order. Everything is read into
memory once per process, as the synthetic data is (``frames`` without a window keeps only the
even/odd pair of each movie; with a window, every frame).
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from noise2x.data.frames import MovieWindowDataset, list_movies, load_movie, load_movie_pair
from noise2x.data.pairs import (
    NoisyPairDataset,
    list_captures,
    load_captures,
    load_pairs,
    match_folders,
    read_header,
)
from noise2x.train.config import ConfigError
from noise2x.train.datamodule import SyntheticDataModule

#: The ``data.name`` values this module serves.
REAL_DATA = ("pairs", "frames", "captures")

ValidationPairs = list[tuple[Tensor, Tensor]]


def _require(data: dict, *keys: str) -> None:
    missing = [k for k in keys if not data[k]]
    if missing:
        example = " ".join(f"data.{k}=DIR" for k in keys)
        raise ValueError(
            f"data={data['name']} needs {' and '.join('data.' + k for k in missing)}: set {example}"
        )


def _sources(data: dict) -> list:
    """Return the checked inputs of a data node: file pairs, movies or (field, captures)."""
    name = data["name"]
    if name == "pairs":
        _require(data, "a", "b")
        return match_folders(data["a"], data["b"])
    elif name == "frames":
        _require(data, "root")
        return list_movies(data["root"], data["window"])
    elif name == "captures":
        _require(data, "root")
        return list(list_captures(data["root"], data["fields"]).items())
    else:
        raise ConfigError(f"data.name {name!r} is not real data (choices: {', '.join(REAL_DATA)})")


def _first_file(name: str, source) -> object:
    if name == "pairs":
        return source[0]
    elif name == "frames":
        return source
    elif name == "captures":
        return source[1][0]
    else:
        raise ConfigError(f"data.name {name!r} is not real data")


def check_data(data: dict) -> int:
    """Check the real data of a ``data`` config node; return its channel count.

    Reads file headers only where the format has them (TIFF, MRC): pairs are matched and
    compared, movies counted, captures compared within each field of view.

    Parameters
    ----------
    data : dict
        A validated ``data`` node with ``name`` in `REAL_DATA`.

    Returns
    -------
    int
        ``data["channels"]`` if set, else C of the first file (1 or 3).

    Raises
    ------
    ValueError
        If a required key (``data.a``/``data.b`` or ``data.root``) is not set.
    PairingError
        Listing every problem of the data (unmatched names, size or dtype mismatches, movies
        with too few frames, fields with fewer than 2 captures, unreadable files) with counts.
    FileNotFoundError, ImageError
        If a folder does not exist or holds no images.
    """
    sources = _sources(data)
    if data["channels"] is not None:
        return int(data["channels"])
    (_, channels, _, _), _ = read_header(_first_file(data["name"], sources[0]))
    return int(channels)


def _split(items: Sequence, data: dict, what: str) -> tuple[list, list]:
    count = data["val_count"]
    if len(items) <= count:
        raise ValueError(
            f"data={data['name']}: {len(items)} {what}; need more than data.val_count={count} "
            "to hold some out for validation"
        )
    return list(items[:-count]), list(items[-count:])


def build_datasets(
    data: dict, channels: int, seed: int = 0
) -> tuple[NoisyPairDataset, ValidationPairs]:
    """Read the real data of a ``data`` node into a training set and validation pairs.

    Parameters
    ----------
    data : dict
        A validated ``data`` node with ``name`` in `REAL_DATA`.
    channels : {1, 3}
        Images are converted to this many channels.
    seed : int
        Seeds the training samples (``NoisyPairDataset``).

    Returns
    -------
    train_set : NoisyPairDataset
        Gives (input, target, NaN) crops, (C, P, P) float32 each.
    val_pairs : list of (Tensor, Tensor), each (C, H, W) float32
        (noisy input, noisy target) of each held-out pair, movie or field.

    Raises
    ------
    ValueError
        If nothing is left for training after holding out ``val_count``, an image is smaller
        than ``patch_size``, or as `check_data`.
    """
    name, norm = data["name"], data["normalize"]
    common = {
        "patch_size": data["patch_size"],
        "samples_per_epoch": data["samples_per_epoch"],
        "seed": seed,
    }
    sources = _sources(data)
    if name == "pairs":
        train, val = _split(load_pairs(sources, channels, norm), data, "pair(s)")
        return NoisyPairDataset(train, **common), [(g[0], g[1]) for g in val]
    elif name == "frames":
        train_paths, val_paths = _split(sources, data, "movie(s)")
        window = data["window"]
        if window is None:
            train = [load_movie_pair(p, channels, norm) for p in train_paths]
            val = [load_movie_pair(p, channels, norm) for p in val_paths]
            return NoisyPairDataset(train, **common), [(g[0], g[1]) for g in val]
        train = [load_movie(p, window, channels, norm) for p in train_paths]
        val = [load_movie(p, window, channels, norm)[:window] for p in val_paths]
        val_pairs = [(m[0::2].mean(dim=0), m[1::2].mean(dim=0)) for m in val]
        return MovieWindowDataset(train, window, **common), val_pairs
    elif name == "captures":
        train_fields, val_fields = _split(sources, data, "field(s) of view")
        train = load_captures(dict(train_fields), channels, norm)
        if common["samples_per_epoch"] is None:  # one sample per training capture
            common["samples_per_epoch"] = sum(len(files) for _, files in train_fields)
        val = load_captures(dict(val_fields), channels, norm)
        return NoisyPairDataset(train, **common), [(g[0], g[1]) for g in val]
    else:
        raise ConfigError(f"data.name {name!r} is not real data (choices: {', '.join(REAL_DATA)})")


class RealDataModule(SyntheticDataModule):
    """Real noisy pairs (``data=pairs|frames|captures``): training crops, validation pairs.

    The loaders, sampler and steps per epoch are `SyntheticDataModule`'s; only what is read
    differs (see the module docstring).

    Parameters
    ----------
    config : dict
        A validated config; reads ``data`` and ``seed``.
    """

    def setup(self, stage: str | None = None) -> None:
        """Check and read the data (once per process)."""
        if self.train_set is not None:
            return
        data = self.config["data"]
        channels = data["channels"] if data["channels"] is not None else check_data(data)
        self.train_set, self.val_set = build_datasets(data, channels, seed=self.config["seed"])
