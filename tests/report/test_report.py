"""noise2x.report: the generic renderer, and the committed results it renders.

Every benchmark script stores its rendering in its JSON (``"markdown"``, ``"readme"``,
``"charts"``); the report copies the text and draws the charts. Checked here: the committed
``benchmarks/results/*.json`` carry exactly their committed ``.md`` and the README's tables;
the renderer copies, draws and rejects bad files naming them; and the one piece of logic of a
benchmark's own renderer that the README shows condensed.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from report_samples import MARKDOWN, README, bar_spec, line_spec, plain, toy

from noise2x.report import (
    BarChart,
    LineChart,
    chart_from_spec,
    chart_to_spec,
    detect_kind,
    load_result,
    with_rendering,
    write_report,
    write_result,
)
from noise2x.report.page import PARTIAL, list_results

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
COMMITTED = sorted(p for p in RESULTS.glob("*.json") if not p.name.endswith(PARTIAL))


def _write(folder: Path, name: str, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


# --- the committed results ---------------------------------------------------------------------
@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_committed_result_names_its_script_and_carries_exactly_its_committed_markdown(path):
    section = load_result(path)  # also builds every chart of its specs

    assert section.kind.name == path.stem
    assert (REPO / "benchmarks" / f"{path.stem}.py").is_file()
    assert path.with_suffix(".md").is_file(), f"{path.name} has no committed .md"
    assert section.markdown == path.with_suffix(".md").read_text(encoding="utf-8")


def test_readme_tables_of_a_benchmark_are_those_its_committed_result_stores():
    """Each README section naming ``benchmarks/NAME.py`` shows every table NAME's result stores.

    The stored table is the result's ``readme`` (where the README condenses its page) or its
    ``markdown``; a README table that drifted from it, or a section whose table is gone,
    fails.
    """
    text = (REPO / "README.md").read_text()
    readme = [line.strip() for line in text.splitlines()]
    named = re.findall(r"^#+ .*\(`benchmarks/(\w+)\.py`\)", text, re.MULTILINE)
    assert named, "the README names no benchmark"
    for stem in named:
        section = load_result(REPO / "benchmarks" / "results" / f"{stem}.json")
        stored = section.readme or section.markdown
        tables = [b for b in stored.strip().split("\n\n") if b.startswith("| ")]
        assert tables, f"{stem}.json stores no table"
        for block in tables:
            lines = block.splitlines()
            assert lines[0] in readme, f"README lacks the table of {stem}.json: {lines[0]}"
            start = readme.index(lines[0])
            assert readme[start : start + len(lines)] == lines, f"README table of {stem}.json"


# --- loading a result: the text is copied, the charts are built from their specs ---------------
def test_load_result_copies_the_markdown_readme_and_title_and_builds_the_charts(tmp_path):
    section = load_result(_write(tmp_path, "toy", toy()))

    assert section.kind.name == "toy"
    assert section.kind.title == "Toy benchmark: a vs b"
    assert (section.markdown, section.readme) == (MARKDOWN, README)
    assert section.charts == [
        BarChart(
            "psnr",
            "Toy: mean PSNR",
            ["Set12", "BSD68"],
            {"a": [29.94, 28.93], "b": [28.63, None]},
            "PSNR (dB)",
        ),
        LineChart(
            "curves",
            "Toy: PSNR per step",
            {"a": ([10, 20], [27.0, 29.0]), "b": ([10, 20], [25.0, 27.0])},
            xlabel="step",
            ylabel="PSNR (dB)",
        ),
    ]


def test_load_result_of_the_least_result_has_the_scripts_name_and_no_readme_or_chart(tmp_path):
    section = load_result(_write(tmp_path, "plain", plain()))

    assert section.kind.title == "plain (benchmarks/plain.py)"
    assert section.readme is None and section.charts == []


@pytest.mark.parametrize(
    "chart",
    [
        BarChart("b", "B", ["x", "y"], {"s": [1.0, None]}, "dB", log=True, value_format="{:.1f}"),
        LineChart("l", "L", {"s": ([0, 5], [0.5, 0.25])}, xlabel="epoch", ylabel="loss", log=True),
    ],
    ids=["bar", "line"],
)
def test_chart_spec_round_trips_through_json(chart):
    spec = json.loads(json.dumps(chart_to_spec(chart)))

    assert chart_from_spec(spec) == chart


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "pie"}, "chart kind 'pie' is not one of 'bar', 'line'"),
        ({"colour": "red"}, "bar chart: unknown field(s) colour; known: name, title,"),
        ({"ylabel": None}, "bar chart 'psnr': missing ylabel"),
        ({"series": {"a": [1.0]}}, "each series has one value per category (2)"),
        ({"series": [1.0, 2.0]}, "series is not a JSON object"),
    ],
)
def test_chart_from_spec_says_what_is_wrong(change, problem):
    spec = {**bar_spec(), **change}
    spec = {key: value for key, value in spec.items() if value is not None}

    with pytest.raises(ValueError, match=re.escape(problem)):
        chart_from_spec(spec)


def test_chart_from_spec_of_a_line_needs_x_and_y_of_one_length():
    spec = {**line_spec(), "series": {"a": [[10, 20], [27.0]]}}

    with pytest.raises(ValueError, match=r"\[x values, y values\] of one length"):
        chart_from_spec(spec)


# --- bad files: one error naming the file ------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([1, 2], "expected a JSON object written by a noise2x benchmark, found a JSON list"),
        ({"rows": [1, 2]}, "not a noise2x benchmark result (no 'benchmark' key"),
        (
            {"benchmark": "zsn2n", "rows": []},
            "result of benchmark 'zsn2n' carries no rendered 'markdown'; render it with: "
            "python benchmarks/zsn2n.py --table-only",
        ),
        ({**plain(), "readme": ["x"]}, "'readme' of benchmark 'plain' is a JSON list"),
        (
            {**plain(), "charts": {}},
            "'charts' of benchmark 'plain' is a JSON dict; expected a list",
        ),
    ],
)
def test_detect_kind_names_the_file_and_what_is_missing(data, problem):
    with pytest.raises(ValueError, match="^x/y.json: ") as info:
        detect_kind(data, "x/y.json")
    assert problem in str(info.value)


def test_load_result_reports_bad_json_and_bad_chart_specs_with_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    chart = _write(tmp_path, "chart", {**toy(), "charts": [bar_spec(), {"kind": "pie"}]})

    with pytest.raises(ValueError, match=f"^{bad}: not valid JSON"):
        load_result(bad)
    with pytest.raises(ValueError, match=f"^{chart}: chart 1 of benchmark 'toy': chart kind"):
        load_result(chart)


def test_list_results_of_a_folder_leaves_out_running_benchmarks(tmp_path):
    _write(tmp_path, "b", {})
    _write(tmp_path, "a", {})
    _write(tmp_path, "c.partial", {})

    assert [p.name for p in list_results(tmp_path)] == ["a.json", "b.json"]
    with pytest.raises(FileNotFoundError, match="no such file or folder"):
        list_results(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="empty: folder has no .json result files"):
        list_results(tmp_path / "empty")


# --- what a benchmark script writes ------------------------------------------------------------
def test_with_rendering_replaces_a_previous_rendering_and_leaves_out_empty_parts():
    data = {"benchmark": "toy", "rows": [], "readme": "old", "charts": [bar_spec()]}

    result = with_rendering(data, markdown="new\n", title="Toy")

    assert result == {"benchmark": "toy", "rows": [], "title": "Toy", "markdown": "new\n"}
    assert data["readme"] == "old"  # the input is left as it was


def test_with_rendering_stores_chart_specs_that_the_report_reads_back(tmp_path):
    chart = chart_from_spec(bar_spec())

    result = with_rendering({"benchmark": "toy"}, markdown=MARKDOWN, charts=[chart])

    assert result["charts"] == [chart_to_spec(chart)]
    assert load_result(_write(tmp_path, "toy", result)).charts == [chart]
    with pytest.raises(ValueError, match="needs its 'benchmark' key"):
        with_rendering({"rows": []}, markdown=MARKDOWN)


def test_write_result_writes_the_json_and_its_markdown_beside_it(tmp_path):
    text = write_result(toy(), tmp_path / "toy.json")

    assert text == MARKDOWN
    assert (tmp_path / "toy.md").read_text() == MARKDOWN
    assert json.loads((tmp_path / "toy.json").read_text()) == toy()


# --- the page ----------------------------------------------------------------------------------
def _sections(folder: Path) -> list:
    return [
        load_result(_write(folder, name, make())) for name, make in (("toy", toy), ("plain", plain))
    ]


def test_page_holds_every_sections_tables_and_links_every_figure(tmp_path):
    pytest.importorskip("matplotlib")
    sections = _sections(tmp_path / "in")

    written = write_report(sections, tmp_path / "out", command="noise2x report in -o out")

    page = written.page.read_text()
    assert written.skipped is None
    for section in sections:
        assert section.markdown in page
        assert f"## {section.kind.title}" in page
    assert page.count("In the README:") == 1  # only where the README condenses the table
    assert f"In the README:\n\n{README}" in page
    assert [p.name for p in written.figures] == ["toy_psnr.png", "toy_curves.png"]
    for figure in written.figures:
        assert figure.read_bytes()[:4] == b"\x89PNG"
        assert f"]({figure.name})" in page


def test_page_without_matplotlib_still_has_the_tables_and_says_why(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    sections = _sections(tmp_path / "in")

    written = write_report(sections, tmp_path / "out", command="noise2x report")

    page = written.page.read_text()
    assert "matplotlib is not installed" in written.skipped
    assert f"Figures were not drawn: {written.skipped}." in page
    assert all(section.markdown in page for section in sections)
    assert written.figures == [] and "![" not in page
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.md"]


def test_page_copies_the_benchmarks_own_figure_even_without_matplotlib(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)  # import fails
    source = _write(tmp_path / "in", "toy", toy())
    (tmp_path / "in" / "toy.png").write_bytes(b"\x89PNG own figure")

    written = write_report([load_result(source)], tmp_path / "out", command="c")

    assert [p.name for p in written.figures] == ["toy.png"]
    assert (tmp_path / "out" / "toy.png").read_bytes() == b"\x89PNG own figure"
    assert "![the benchmark's own figure](toy.png)" in written.page.read_text()


def test_page_gives_files_of_one_name_their_own_figures(tmp_path):
    pytest.importorskip("matplotlib")
    first = _write(tmp_path / "a", "toy", {**toy(), "charts": [bar_spec()]})
    second = _write(tmp_path / "b", "toy", {**toy(), "charts": [bar_spec()]})

    written = write_report([load_result(first), load_result(second)], tmp_path / "out", command="c")

    assert [p.name for p in written.figures] == ["toy_psnr.png", "toy-2_psnr.png"]
    assert written.page.read_text().count("## Toy benchmark: a vs b") == 2


def test_existing_report_is_not_replaced_without_overwrite(tmp_path):
    sections = [load_result(_write(tmp_path, "toy", toy()))]
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("mine")

    with pytest.raises(FileExistsError, match="report.md already exists; use --overwrite"):
        write_report(sections, out, command="c", figures=False)
    assert (out / "report.md").read_text() == "mine"
    write_report(sections, out, command="c", figures=False, overwrite=True)
    assert sections[0].markdown in (out / "report.md").read_text()


# --- a benchmark's own renderer, where the README condenses its table --------------------------
@pytest.fixture
def benchmark(monkeypatch):
    """Import ``benchmarks/NAME.py`` (a script, not a package module) by its path.

    ``benchmarks/`` goes on ``sys.path`` for the test, for the scripts' imports of their
    siblings (``prior_gate`` imports ``prior_settings`` and ``prior_validation``).
    """
    monkeypatch.syspath_prepend(str(REPO / "benchmarks"))

    def load(name: str):
        path = REPO / "benchmarks" / f"{name}.py"
        if not path.is_file():
            pytest.skip(f"benchmark script not found: {path}")
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    return load


def test_zsn2n_step_readme_table_bolds_the_fastest_and_marks_unmeasured_variants(benchmark):
    rows = [
        dict(threads=t, compiled=c, channels_last=cl, bf16=bf, ms_per_step=ms * s)
        for t, s in ((1, 2.0), (2, 1.0))
        for c, cl, bf, ms in (
            (False, False, False, 125.0),
            (False, False, True, 80.0),
            (False, True, False, 105.0),
            (False, True, True, 37.5),
            (True, False, False, 85.0),
        )
        if not (c and t == 2)  # torch.compile not measured with 2 threads
    ]

    lines = benchmark("zsn2n_step").readme({"rows": rows}).splitlines()

    assert lines[2] == "| 1 | 250.0 ms | 210.0 ms | 160.0 ms | **75.0 ms** | 170.0 ms |"
    assert lines[3] == "| 2 | 125.0 ms | 105.0 ms | 80.0 ms | **37.5 ms** | – |"


@pytest.mark.parametrize("shared", [False, True])
def test_tiling_memory_readme_table_drops_the_tile_from_the_name_and_times_when_shared(
    benchmark, shared
):
    case = {
        "case": "4096 x 4096 uint16 TIFF, --tile 512",
        "tile": "512",
        "peak_rss_mb": 902.6,
        "seconds": 115.8,
        "dtype_shape_voxel_kept": False,
    }

    lines = benchmark("tiling_memory").readme({"cpu_shared": shared, "cases": [case]}).splitlines()

    time = "" if shared else " 116 s |"
    assert lines[2] == f"| 4096 x 4096 uint16 TIFF | 512 | 0.88 GB |{time} **no** |"


def test_prior_gate_band_search_is_the_brute_force_over_every_threshold_tuple(
    benchmark, monkeypatch
):
    gate = benchmark("prior_gate")
    monkeypatch.setattr(gate, "BAND_THRESHOLDS", tuple(range(2, 20, 3)))
    rng = np.random.default_rng(0)
    estimates = {n: list(np.round(rng.uniform(0, 22, 5), 1)) for n in ("5", "25", "fmd")}
    estimates["5"][0] = 8.0  # on a threshold: the upper band takes it
    psnr_db = {name: {n: list(rng.normal(30, 1, 5)) for n in estimates} for name in ("a", "b", "c")}
    bands = ["a", "b", "a", "c"]
    brute = {
        t: gate.mean_over(gate.banded(psnr_db, estimates, bands, t))
        for t in itertools.combinations(gate.BAND_THRESHOLDS, 3)
    }
    found = gate.band_search(psnr_db, estimates, bands, keep=5)
    best = sorted(brute, key=lambda t: -brute[t])[:5]
    assert list(found) == best
    assert all(found[t] == pytest.approx(brute[t]) for t in best)


def test_prior_gate_table_names_the_shipped_gate_beside_the_searchs_best(benchmark):
    gate = benchmark("prior_gate")
    report = {
        "date": "2026-12-07",
        "kind": "grey",
        "images": ["camera"],
        "estimated_sigma": {"15": [15.2]},
        "psnr_db": {"a": {"15": [30.0]}, "b": {"15": [31.0]}},
        "bands": ["a", "b"],
        "band_orders": {"a,b": {"gate": [12], "mean_db": 31.0}},
        "chosen": {"gate": [12]},
    }
    assert "Shipped" not in gate.render(report)

    report["shipped"] = {"bands": ["a", "b"], "gate": [27.0], "mean_db": 30.0}

    assert (
        "Shipped: `a, b` at 27 (30.0000 dB; the search's best above: 31.0000 dB)."
        in gate.render(report)
    )


def test_prior_gate_describes_each_candidate_by_its_steps_and_hash(benchmark, tmp_path):
    import hashlib

    import torch

    from noise2x.weights import WEIGHTS_DIR, read_metadata

    gate = benchmark("prior_gate")
    ckpt = tmp_path / "best.ckpt"
    torch.save({"global_step": 3600, "state_dict": {}}, ckpt)
    shipped = str(WEIGHTS_DIR / "prior_grey_mid.safetensors")
    assert gate.describe(str(ckpt)) == {
        "steps": 3600,
        "sha256": hashlib.sha256(ckpt.read_bytes()).hexdigest()[:16],
    }
    assert gate.describe(shipped)["steps"] == read_metadata(shipped)["steps"]


def test_prior_settings_reads_the_inference_precision_under_its_old_and_new_names(benchmark):
    settings = benchmark("prior_settings")
    stored = json.loads((REPO / "benchmarks" / "results" / "prior_settings.json").read_text())
    table = settings.render(stored)  # its rows name the setting `precision`
    assert "| grey | 8 | bf16 |" in table and "| grey | 8 | fp32 |" in table
    for row in stored["ensemble"]:
        row["inference_precision"] = row.pop("precision")
    assert settings.render(stored) == table
    del stored["ensemble"][0]["inference_precision"]  # runs before bf16 was measured
    assert f"| {stored['ensemble'][0]['ensemble']} | fp32 |" in settings.render(stored)


def test_train_prior_draw_0_keeps_the_recipe_seeds_and_later_draws_are_new(benchmark, tmp_path):
    train = benchmark("train_prior")
    kinds = range(len(train.MODELS["grey"]["kinds"]))

    assert [train.pair_seeds(k) for k in kinds] == [
        (10000 * (k + 1), 10000 * (k + 1) + 5000, 100 + k) for k in kinds
    ]  # the seeds every stage before the draws used
    seeds = [s for d in range(3) for k in kinds for s in train.pair_seeds(k, d)[:2]]
    assert len(set(seeds)) == len(seeds)  # no view of any draw repeats another's noise
    assert train.pair_draw(tmp_path, "grey") == 0


def test_train_prior_grey832_writes_the_luma_of_colour_sources_once(
    benchmark, tmp_path, monkeypatch
):
    from PIL import Image

    train = benchmark("train_prior")
    data = tmp_path / "data"
    (data / "Train400").mkdir(parents=True)
    (data / "CBSD432").mkdir()
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (8, 8), np.uint8)).save(data / "Train400" / "t.png")
    rgb = rng.integers(0, 256, (8, 8, 3), np.uint8)
    Image.fromarray(rgb).save(data / "CBSD432" / "c.png")
    monkeypatch.setattr(train, "DATA", data)
    work = tmp_path / "work"

    folders = train.source_folders("grey832", work)

    assert folders == [data / "Train400", work / "sources" / "CBSD432-grey"]
    grey = np.asarray(Image.open(folders[1] / "c.png"))
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    assert grey.shape == (8, 8) and np.abs(grey - luma).max() <= 1.0  # ITU-R 601, 8 bits
    assert train.source_folders("grey", work) == [data / "Train400"]  # grey sources kept
    assert train.source_folders("colour", work) == [data / "CBSD432"]
    assert train.source_folders("grey432", work) == [work / "sources" / "CBSD432-grey"]


def test_train_prior_averages_two_nets_weights_and_refuses_two_architectures(benchmark):
    import torch

    from noise2x.nets.unet_n2n import UNetN2N

    train = benchmark("train_prior")
    torch.manual_seed(0)
    end, start = UNetN2N(channels=1), UNetN2N(channels=1)
    before = {k: v.clone() for k, v in start.state_dict().items()}
    expected = {k: (v + before[k]) / 2 for k, v in end.state_dict().items()}

    train.average_with(end, start)

    for key, value in end.state_dict().items():
        torch.testing.assert_close(value, expected[key])
        assert torch.equal(start.state_dict()[key], before[key])  # the other net is unchanged
    with pytest.raises(ValueError, match="cannot average"):
        train.average_with(end, UNetN2N(channels=3))


def test_train_prior_says_what_is_missing_instead_of_a_traceback(
    benchmark, tmp_path, monkeypatch, capsys
):
    train = benchmark("train_prior")
    (tmp_path / "data" / "CBSD432").mkdir(parents=True)
    monkeypatch.setattr(train, "DATA", tmp_path / "data")
    work = tmp_path / "work"

    def run(*args: str) -> str:
        monkeypatch.setattr("sys.argv", ["train_prior.py", "--models", "grey432", *args])
        with pytest.raises(SystemExit) as exit:
            train.main()
        return str(exit.value.code) + capsys.readouterr().err

    assert "give --init too" in run("--average-with-init", "--work", str(work))
    said = run("--export-only", "--work", str(work))
    assert "cannot export grey432" in said and "no finished run" in said


def test_ensemble_order_compares_the_librarys_two_orders_and_renders_every_noise(benchmark):
    """Its ``rows`` and ``turns`` are the first 4 of the library's ROW_ORDER and ENSEMBLE_ORDER
    (the table measures what ships), and the table has one mean per order and noise."""
    from noise2x.ops.ensemble import ENSEMBLE_ORDER, ROW_ORDER

    order = benchmark("ensemble_order")
    assert order.ORDERS["rows"] == ROW_ORDER[:4] and order.ORDERS["turns"] == ENSEMBLE_ORDER[:4]
    assert all(len(set(o)) == 4 and o[0] == 0 for o in order.ORDERS.values())
    report = {
        "date": "2026-12-07",
        "machine": {"cpu": "a CPU"},
        "kinds": {
            "grey": {"rows": {"5": [30.0, 32.0], "fmd": [36.0]}, "turns": {"5": [31.0, 33.0]}},
        },
    }
    table = order.render(report)
    assert "| σ 5 | fmd | mean |" in table and "a CPU" in table
    assert "| grey | rows | 31.000 | 36.000 | 33.500 |" in table
    assert "| grey | turns | 32.000 |  | 32.000 |" in table


def test_prior_pass_through_chooses_the_best_rule_that_loses_nowhere(benchmark):
    """A rule that would pass real noise through (FMD-like: low estimate, noisy input, good
    output) is refused; among the rest the best mean wins, and the table marks what ships."""
    from noise2x.methods.prior import input_share

    script = benchmark("prior_pass_through")
    rng = np.random.default_rng(0)
    clean = rng.random((16, 16))
    rows = [
        {  # nearly clean: the input is far better than the output
            "noise": "0.5", "sigma_hat": 0.6, "clean": clean,
            "noisy": clean + 0.5 / 255 * rng.standard_normal(clean.shape),
            "out": 0.9 * clean + 0.05,
        },
        {  # real noise that estimates low: the output is far better than the input
            "noise": "fmd", "sigma_hat": 2.4, "clean": clean,
            "noisy": clean + 0.1 * rng.standard_normal(clean.shape), "out": clean + 1e-3,
        },
    ]  # fmt: skip
    entry = script.choose(rows)
    full, none, weight = entry["chosen"]
    assert input_share(2.4, full, none, weight) == 0.0 and weight == 1.0
    assert entry["chosen_table"]["0.5"] > entry["none"]["0.5"] + 10
    assert entry["chosen_table"]["fmd"] == entry["none"]["fmd"]
    entry |= {"shipped": entry["chosen"], "shipped_table": entry["chosen_table"]}
    report = {"date": "2026-12-07", "machine": {"cpu": "a CPU"}, "kinds": {"grey": entry}}
    table = script.render(report)
    assert f"| grey | chosen {tuple(entry['chosen'])} (shipped) |" in table
    assert "| grey | none |" in table and "| σ 0.5 | FMD | mean |" in table


def test_prior_table_names_the_nets_of_the_runs_gate_in_band_order(benchmark):
    """The 'nets' column follows the gate recorded in the rows (not a hand-kept list): a gate
    of three bands gives three counts, in the order of the bands."""
    prior = benchmark("prior")
    assert prior.net_name("prior_grey_lowmid.safetensors") == "lowmid"
    assert prior.net_name("prior_grey.safetensors") == prior.net_name(None) == "default"
    bands = [[0.0, "prior_grey.safetensors"], [9.0, "prior_grey_a.safetensors"], [30.0, "b.x"]]
    methods = {m: {"psnr_db": 30.0, "ssim": 0.8, "seconds": 1.0} for m in ("noisy", "bm3d")}
    rows = [
        {
            "set": "Set12",
            "image": f"{k:02d}.png",
            "noise": "gauss25",
            "methods": {**methods, "prior": {"psnr_db": 31.0, "ssim": 0.9, "seconds": 0.5}},
            "gate": {"bands": bands, "weights": weights},
        }
        for k, weights in enumerate(["prior_grey_a.safetensors", None, "prior_grey_a.safetensors"])
    ]
    report = {"date": "d", "machine": {"cpu": "c"}, "workers": 1, "rows": rows}
    table = prior.render({**report, "limit": 3})
    assert "| nets default/a/b |" in table
    assert "| +1.00 | 1.0 | 0.5 | 1/2/0 |" in table


def test_ensemble_size_renders_and_the_shipped_rule_fits_its_measured_times(benchmark):
    """The committed run of ensemble_size.py renders; the prior's default rule (by the image's
    size) stays within 0.75 of BM3D's time on every shape it timed, and its most transforms
    gained on the validation images over the 4 quarter turns, grey and colour."""
    from noise2x.methods.prior import ENSEMBLE_BUDGET, ENSEMBLE_LEAST, ENSEMBLE_MOST
    from noise2x.ops.ensemble import ensemble_for_size

    script = benchmark("ensemble_size")
    report = json.loads((REPO / "benchmarks" / "results" / "ensemble_size.json").read_text())
    table = script.render(report)
    assert "| grey 256×256 | " in table and "| 6 | " in table and "| colour | σ 5 |" in table
    for kind, rows in report["seconds"].items():
        for row in rows:
            h, w = row["shape"]
            n = ensemble_for_size(h, w, ENSEMBLE_BUDGET, ENSEMBLE_LEAST, ENSEMBLE_MOST)
            assert row["prior_seconds"][str(n)] <= 0.75 * row["bm3d_seconds"], (kind, h, w)
    for table in report["psnr_db"].values():
        mean = {n: np.mean([np.mean(v) for v in table[n].values()]) for n in table}
        assert mean[str(ENSEMBLE_MOST)] > mean[str(ENSEMBLE_LEAST)] + 0.005
