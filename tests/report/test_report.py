"""noise2x.report: each kind renders its script's tables, the page links its figures.

Three kinds of check: hand-made JSON of every kind rendered into known lines (numbers
formatted as in the README); the same JSON rendered by the benchmark script's own function
(where the script has one) gives the same text; and the committed ``benchmarks/results/*.json``
give exactly the committed ``*.md`` and the README's tables.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from report_samples import SAMPLES

from noise2x.report import KINDS, BarChart, detect_kind, load_result, write_report
from noise2x.report.page import PARTIAL, list_results

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "benchmarks" / "results"
COMMITTED = sorted(p for p in RESULTS.glob("*.json") if not p.name.endswith(PARTIAL))
#: The function each benchmark script renders its Markdown with (scripts that render inline
#: in main() have none: their committed .md is the reference).
SCRIPT_RENDERERS = {
    "zsn2n": "markdown",
    "n2n": "render",
    "tiling_memory": "table",
    "real_fmd": "markdown",
    "finetune_prob4": "render",
}


def _write(folder: Path, name: str, data: dict) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    path.write_text(json.dumps(data, indent=1))
    return path


def _script(name: str):
    path = REPO / "benchmarks" / f"{name}.py"
    if not path.is_file():
        pytest.skip(f"benchmark script not found: {path}")
    spec = importlib.util.spec_from_file_location(f"_benchmark_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- every kind ------------------------------------------------------------------------------
def test_every_registered_kind_has_a_sample_and_every_sample_a_kind():
    assert sorted(SAMPLES) == KINDS.names()


@pytest.mark.parametrize("name", KINDS.names())
def test_sample_is_recognised_as_its_kind_from_its_content(name):
    assert detect_kind(SAMPLES[name](), f"{name}.json").name == name


@pytest.mark.parametrize("name", sorted(SCRIPT_RENDERERS))
def test_kind_renders_what_the_benchmark_script_renders(name):
    render = getattr(_script(name), SCRIPT_RENDERERS[name])
    data = SAMPLES[name]()

    assert KINDS.get(name).markdown(data) == render(data)


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_committed_result_renders_exactly_its_committed_markdown(path):
    markdown = path.with_suffix(".md")
    if not markdown.is_file():
        pytest.skip(f"{markdown} not written yet")

    assert load_result(path).markdown == markdown.read_text(encoding="utf-8")


def test_readme_tables_are_those_the_report_renders():
    """Every README table whose header a committed result renders equals that rendering."""
    readme = [line.strip() for line in (REPO / "README.md").read_text().splitlines()]
    matched = 0
    for path in COMMITTED:
        section = load_result(path)
        text = section.readme or section.markdown
        for block in text.strip().split("\n\n"):
            lines = block.splitlines()
            if not lines[0].startswith("| ") or lines[0] not in readme:
                continue
            start = readme.index(lines[0])
            assert readme[start : start + len(lines)] == lines, f"README table of {path.name}"
            matched += 1
    if COMMITTED:
        assert matched > 0  # the check above ran on at least one table


# --- numbers as the README formats them --------------------------------------------------------
def test_zsn2n_table_means_per_set_and_noise_set12_first_missing_methods_not_run():
    lines = KINDS.get("zsn2n").markdown(SAMPLES["zsn2n"]()).splitlines()

    assert lines[4] == (
        "| Set12 | gauss25 | 2 | 20.00 / 0.380 | 27.50 / 0.730 / 145.0 s "
        "| 27.40 / 0.720 / 490.0 s | 29.50 / 0.860 / 6.0 s |"
    )
    assert lines[5].startswith("| Set12 | gauss50 | 1 | 23.12 / 0.500 |")
    assert (
        lines[6]
        == "| CBSD68 | gauss25 |  | not run | 27.00 / 0.800 / 400.0 s | not run | not run |"
    )


def test_zsn2n_step_readme_table_bolds_the_fastest_and_marks_unmeasured_variants():
    data = SAMPLES["zsn2n_step"]()
    data["rows"] = [r for r in data["rows"] if not (r["compiled"] and r["threads"] == 2)]

    lines = KINDS.get("zsn2n_step").readme(data).splitlines()

    assert lines[2] == "| 1 | 250.0 ms | 210.0 ms | 160.0 ms | **75.0 ms** | 170.0 ms |"
    assert lines[3] == "| 2 | 125.0 ms | 105.0 ms | 80.0 ms | **37.5 ms** | – |"


def test_n2n_table_has_the_gap_with_sign_and_training_minutes():
    text = KINDS.get("n2n").markdown(SAMPLES["n2n"]())

    assert (
        "| BSD68 | gauss25 | 2 | 20.50 / 0.390 | 28.93 / 0.820 | 28.97 / 0.822 | -0.04 dB |" in text
    )
    assert "| gauss25 | n2c | 6000 | 19.4 min | 26.23 dB |" in text


def test_n2n_step_table_one_row_per_threads_and_width():
    text = KINDS.get("n2n_step").markdown(SAMPLES["n2n_step"]())

    assert text.splitlines()[2:] == [
        "| threads | width | fp32 | fp32 channels-last | bf16 | bf16 + channels-last |",
        "| --- | --- | --- | --- | --- | --- |",
        "| 1 | 16 | 100.0 | 90.0 | 50.0 | 40.0 |",
    ]


@pytest.mark.parametrize("shared", [False, True])
def test_tiling_memory_readme_table_drops_the_tile_from_the_name_and_times_when_shared(shared):
    data = SAMPLES["tiling_memory"](cpu_shared=shared)

    lines = KINDS.get("tiling_memory").readme(data).splitlines()
    full = KINDS.get("tiling_memory").markdown(data)

    time = "" if shared else " 116 s |"
    assert lines[3] == f"| 4096 x 4096 uint16 TIFF | 512 | 0.88 GB |{time} **no** |"
    assert ("(not quoted)" in full) == shared


def test_real_fmd_table_lists_only_fields_with_rows_and_the_best_checkpoint():
    text = KINDS.get("real_fmd").markdown(SAMPLES["real_fmd"]())

    assert "| method | mean (2 fields) | field 17 | field 18 | seconds / image |" in text
    assert "| ZS-N2N | 34.50 / 0.880 | 34.00 / 0.880 | 35.00 / 0.880 | 10.0 (2000 steps) |" in text
    assert "best.ckpt at step 4800 scores 36.40 / 0.950 on the test fields." in text


def test_finetune_prob4_tables_and_histories():
    text = KINDS.get("finetune_prob4").markdown(SAMPLES["finetune_prob4"]())

    assert "| naive | 11.59 / 0.700 | 11.60 / 0.701 | -0.2171 | 50 | whole pair |" in text
    assert "| shift | +0.001 | +0.128 | -0.250 |" in text
    assert "(unsafe; step: loss): 0: 0.025000, 5: 0.043300. Best step 0" in text


def test_downsamplers_table_one_row_per_set_and_sigma_diagonal_first_and_the_best_named():
    text = KINDS.get("downsamplers").markdown(SAMPLES["downsamplers"]())
    table = [line for line in text.splitlines() if line.startswith("| ")]

    assert table[0] == "| set | noise | n | noisy | diagonal | max_avg | best |"
    assert table[2] == "| Set12 | gauss25 | 2 | 20.00 | 29.00 / 0.700 | 27.00 / 0.700 | diagonal |"
    assert table[3] == "| Set12 | gauss100 | 1 | 20.00 | 20.00 / 0.700 | 21.00 / 0.700 | max_avg |"
    assert table[4] == "| CBSD68 | gauss25 | 1 | 20.00 | 30.00 / 0.700 | not run | diagonal |"
    # Neighbor2Neighbor against the copied N2N / N2C / BM3D numbers, mean over the images
    assert "| BSD68 | gauss25 | 2 | 20.50 | 30.00 / 0.790 | 28.90 / 0.800 | 29.00 / 0.800 |" in text
    assert "(6000 steps of 8 crops of 64x64, fixed noisy set, 10 min on one thread)" in text


def test_lines_table_noise_free_rows_first_margin_over_the_better_baseline_and_detection():
    text = KINDS.get("lines").markdown(SAMPLES["lines"]())
    table = [line for line in text.splitlines() if line.startswith("| ")]

    assert table[2] == (
        "| 20% rows | none | 2 | 10.00 / 0.500 | 34.00 / 0.900 | 33.00 / 0.900 | 34.00 / 0.900 "
        "| +0.00 dB | 2 / 1 of 2 | 500 |"
    )
    assert table[3].startswith("| 10% cols | none | 1 |")
    assert table[4].startswith("| 20% rows | gauss25 | 1 |") and "| +0.50 dB |" in table[4]
    # the net-denoiser comparison, only where it was measured
    assert "| 20% rows | gauss25 | 1 | 25.00 / 0.900 | 28.00 / 0.900 |" in text
    assert "First attempt (issue 5), noise-free: 10% rows 26.3 dB" in text


def test_self2self_table_means_over_images_and_says_what_was_not_run():
    text = KINDS.get("self2self").markdown(SAMPLES["self2self"]())

    assert "Self2Self default: 1000 steps, 32 passes" in text
    assert (
        "| gauss25 | 2 | 20.00 / 0.800 | 28.50 / 0.800 / 540.0 s | 29.00 / 0.800 / 150.0 s "
        "| 30.50 / 0.800 / 6.0 s | not run |"
    ) in text


def test_downsamplers_curves_are_the_mean_psnr_per_step_of_each_downsampler():
    charts = KINDS.get("downsamplers").charts(SAMPLES["downsamplers"]())
    curves = {c.name: c for c in charts if c.name.startswith("curves_")}

    assert list(curves) == [
        "curves_set12_gauss25",
        "curves_set12_gauss100",
        "curves_cbsd68_gauss25",
    ]
    assert curves["curves_set12_gauss25"].series["diagonal"] == ([10, 20], [27.0, 29.0])
    assert curves["curves_set12_gauss25"].series["max_avg"] == ([10, 20], [25.0, 27.0])


def test_n2n_chart_is_n2n_vs_n2c_vs_bm3d_mean_psnr_per_set():
    (chart,) = KINDS.get("n2n").charts(SAMPLES["n2n"]())

    assert isinstance(chart, BarChart)
    assert chart.categories == ["BSD68 gauss25 (n=2)", "Set12 gauss25 (n=1)"]
    assert chart.series["N2N (noisy targets)"] == pytest.approx([28.93, 29.94])
    assert chart.series["BM3D"] == pytest.approx([28.63, 28.63])


# --- recognising files -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (
            {"benchmark": "zsn2m"},
            "unknown benchmark 'zsn2m'; known: downsamplers, finetune_prob4, lines",
        ),
        ({"rows": [1, 2]}, "not a noise2x benchmark result"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_detect_kind_names_the_file_and_the_known_kinds(data, problem):
    with pytest.raises(ValueError, match="^x/y.json: ") as info:
        detect_kind(data, "x/y.json")
    assert problem in str(info.value)


def test_load_result_reports_bad_json_and_incomplete_results_with_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    incomplete = _write(tmp_path, "inc", {"benchmark": "zsn2n_step", "date": "d"})

    with pytest.raises(ValueError, match=f"^{bad}: not valid JSON"):
        load_result(bad)
    with pytest.raises(ValueError, match=f"^{incomplete}: incomplete zsn2n_step result: no key"):
        load_result(incomplete)


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


# --- the page ----------------------------------------------------------------------------------
def _sections(folder: Path) -> list:
    return [load_result(_write(folder, name, make())) for name, make in SAMPLES.items()]


def test_page_holds_every_kinds_tables_and_links_every_figure(tmp_path):
    pytest.importorskip("matplotlib")
    sections = _sections(tmp_path / "in")

    written = write_report(sections, tmp_path / "out", command="noise2x report in -o out")

    page = written.page.read_text()
    assert written.skipped is None
    for section in sections:
        assert section.markdown in page
        assert f"## {section.kind.title}" in page
    for figure in written.figures:
        assert figure.read_bytes()[:4] == b"\x89PNG"
        assert f"]({figure.name})" in page
    names = {p.name for p in written.figures}
    assert {"n2n_psnr.png", "tiling_memory_peak_memory.png"} <= names
    assert "finetune_prob4_holdout_loss.png" in names  # a per-step curve


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
    source = _write(tmp_path / "in", "n2n", SAMPLES["n2n"]())
    (tmp_path / "in" / "n2n.png").write_bytes(b"\x89PNG own figure")

    written = write_report([load_result(source)], tmp_path / "out", command="c")

    assert [p.name for p in written.figures] == ["n2n.png"]
    assert (tmp_path / "out" / "n2n.png").read_bytes() == b"\x89PNG own figure"
    assert "![the benchmark's own figure](n2n.png)" in written.page.read_text()


def test_page_gives_files_of_one_name_their_own_figures(tmp_path):
    pytest.importorskip("matplotlib")
    first = _write(tmp_path / "a", "n2n", SAMPLES["n2n"]())
    second = _write(tmp_path / "b", "n2n", SAMPLES["n2n"]())

    written = write_report([load_result(first), load_result(second)], tmp_path / "out", command="c")

    assert [p.name for p in written.figures] == ["n2n_psnr.png", "n2n-2_psnr.png"]
    assert written.page.read_text().count("## Noise2Noise vs Noise2Clean vs BM3D") == 2


def test_existing_report_is_not_replaced_without_overwrite(tmp_path):
    sections = [load_result(_write(tmp_path, "n2n", SAMPLES["n2n"]()))]
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.md").write_text("mine")

    with pytest.raises(FileExistsError, match="report.md already exists; use --overwrite"):
        write_report(sections, out, command="c", figures=False)
    assert (out / "report.md").read_text() == "mine"
    write_report(sections, out, command="c", figures=False, overwrite=True)
    assert sections[0].markdown in (out / "report.md").read_text()
