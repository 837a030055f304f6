"""Small hand-made results of every benchmark kind, shaped like the scripts' JSON."""

from __future__ import annotations


def zsn2n() -> dict:
    rows = [  # CBSD68 first: the table still puts Set12 first
        dict(
            dataset="CBSD68",
            image="1.png",
            noise="gauss25",
            method="noise2x",
            psnr_db=27.0,
            ssim=0.8,
            seconds=400.0,
        ),
    ]
    for image, base in (("01.png", 27.0), ("02.png", 28.0)):
        for method, psnr, ssim, seconds in (
            ("noisy", 20.0, 0.38, 0.0),
            ("noise2x", base, 0.73, 145.0),
            ("paper", base - 0.1, 0.72, 490.0),
            ("bm3d", base + 2.0, 0.86, 6.0),
        ):
            rows.append(
                dict(
                    dataset="Set12",
                    image=image,
                    noise="gauss25",
                    method=method,
                    psnr_db=psnr,
                    ssim=ssim,
                    seconds=seconds,
                )
            )
    for method in ("noisy", "noise2x", "paper", "bm3d"):
        rows.append(
            dict(
                dataset="Set12",
                image="01.png",
                noise="gauss50",
                method=method,
                psnr_db=23.123,
                ssim=0.5,
                seconds=100.0,
            )
        )
    machine = {"cpu": "Test CPU", "cores": 2}
    return dict(
        benchmark="zsn2n", date="2026-01-02", machine=machine, workers=2, threads=1, rows=rows
    )


def zsn2n_step() -> dict:
    rows = []
    for threads, scale in ((1, 2.0), (2, 1.0)):
        for compiled, channels_last, bf16, ms in (
            (False, False, False, 125.0),
            (False, False, True, 80.0),
            (False, True, False, 105.0),
            (False, True, True, 37.5),
            (True, False, False, 85.0),
        ):
            rows.append(
                dict(
                    threads=threads,
                    compiled=compiled,
                    channels_last=channels_last,
                    bf16=bf16,
                    ms_per_step=ms * scale,
                    warmup_seconds=0.25,
                )
            )
    return dict(
        benchmark="zsn2n_step",
        date="2026-01-02",
        torch="2.13.0+cpu",
        native_bf16=True,
        size=256,
        steps=40,
        rows=rows,
    )


def n2n() -> dict:
    def image(dataset: str, name: str, n2n: float) -> dict:
        def score(psnr: float, ssim: float) -> dict:
            return {"psnr_db": psnr, "ssim": ssim, "seconds": 1.0}

        return {
            "noise": "gauss25",
            "set": dataset,
            "image": name,
            "noisy": score(20.5, 0.39),
            "n2n": score(n2n, 0.82),
            "n2c": score(n2n + 0.04, 0.822),
            "bm3d": score(28.63, 0.804),
        }

    training = [
        {"noise": "gauss25", "mode": mode, "steps": 6000, "seconds": seconds, "val_psnr_db": val}
        for mode, seconds, val in (("n2n", 1152.1, 26.204), ("n2c", 1164.4, 26.2345))
    ]
    images = [
        image("Set12", "01.png", 29.94),
        image("BSD68", "a.png", 28.9),
        image("BSD68", "b.png", 28.96),
    ]
    return {
        "date": "2026-01-02",
        "machine": "x86_64, 2 cores",
        "torch": "2.13.0+cpu",
        "steps": 6000,
        "noises": ["gauss25"],
        "training": training,
        "images": images,
        "precision": "bf16-mixed",
    }


def n2n_step() -> dict:
    rows = [
        dict(threads=1, width=16, bf16=bf16, channels_last=cl, ms_per_step=ms)
        for bf16, cl, ms in (
            (False, False, 100.0),
            (False, True, 90.0),
            (True, False, 50.0),
            (True, True, 40.04),
        )
    ]
    return dict(
        benchmark="n2n_step",
        date="2026-01-02",
        machine="x86_64",
        torch="2.13.0+cpu",
        native_bf16=True,
        batch=8,
        patch=64,
        rows=rows,
    )


def tiling_memory(cpu_shared: bool = False) -> dict:
    cases = [
        {
            "case": "4096 x 4096 uint16 TIFF, auto tile",
            "tile": "auto",
            "peak_rss_mb": 1239.0,
            "seconds": 87.7,
            "dtype_shape_voxel_kept": True,
        },
        {
            "case": "4096 x 4096 uint16 TIFF, --tile 512",
            "tile": "512",
            "peak_rss_mb": 902.6,
            "seconds": 115.8,
            "dtype_shape_voxel_kept": False,
        },
        {
            "case": "stack 2 x 1024 x 1024 uint16 TIFF",
            "tile": "auto",
            "peak_rss_mb": 1022.1,
            "seconds": 51.9,
            "dtype_shape_voxel_kept": True,
        },
    ]
    return {
        "date": "2026-01-02",
        "machine": "x86_64, 2 cores",
        "torch": "2.13.0+cpu",
        "cpu_shared": cpu_shared,
        "cases": cases,
    }


def real_fmd() -> dict:
    rows = []
    for field in ("18", "17"):
        for method, psnr, ssim in (
            ("raw", 33.0, 0.86),
            ("n2n", 36.0, 0.96),
            ("n2n_best", 35.9, 0.95),
            ("zsn2n", 34.0, 0.88),
            ("bm3d", 34.5, 0.94),
            ("avg", 41.0, 0.98),
        ):
            row = {
                "field": field,
                "method": method,
                "psnr_db": psnr + int(field) - 17,
                "ssim": ssim,
                "seconds": 0.0 if method == "raw" else 10.0,
            }
            if method == "zsn2n":
                row["steps"] = 2000
            if method == "bm3d":
                row["sigma_estimated_255"] = 2.3 + int(field) - 17
            rows.append(row)
    config = {
        "train_fields": [str(i) for i in range(1, 15)],
        "val_fields": ["15", "16"],
        "test_fields": ["17", "18", "19"],
        "capture": "HV110_P0500510000.png",
        "batch_size": 8,
        "patch_size": 64,
        "precision": "bf16-mixed",
        "train_threads": 1,
        "quick": False,
    }
    training = {
        "steps": 5000,
        "seconds": 1200.0,
        "seconds_per_step": 0.24,
        "val_psnr_db_last": 30.75,
        "best_step": 4800,
    }
    return {
        "benchmark": "real_fmd",
        "date": "2026-01-02",
        "machine": {"cpu": "Test CPU", "cores": 2},
        "load_start": 2.5,
        "cpu_shared": True,
        "workers": 2,
        "config": config,
        "training": training,
        "rows": rows,
    }


def finetune_prob4() -> dict:
    def row(psnr: float, shift: float, seconds: float | None, note: str = "") -> dict:
        return {
            "seconds": seconds,
            "mean_shift": shift,
            "psnr_db_a": psnr,
            "ssim_a": 0.7,
            "psnr_db_b": psnr + 0.01,
            "ssim_b": 0.701,
            "note": note,
        }

    def guarded(history: list, best: int, kept: bool) -> dict:
        return {"holdout_history": history, "best_step": best, "kept_pretrained": kept}

    return {
        "date": "2026-01-02",
        "machine": "x86_64, 2 cores, 1 thread",
        "size": "512x512",
        "pretrained": {"source": "`last.ckpt`"},
        "rows": {
            "noisy": row(20.0, -0.0003, None),
            "pretrained": row(26.44, 0.0008, 3.6),
            "naive": row(11.59, -0.2171, 50.3, "whole pair"),
            "fine-tuned": row(26.86, 0.0024, 69.9, "lr 0.0001"),
        },
        "naive_curve": [
            {"epoch": e, "psnr_db_a": p, "mean_shift": s}
            for e, p, s in ((0, 26.44, 0.001), (1, 14.94, 0.128), (2, 10.53, -0.25))
        ],
        "finetune": guarded([[0, 0.025], [25, 0.0249]], 25, False),
        "unsafe": guarded([[0, 0.025], [5, 0.0433]], 0, True),
    }


def downsamplers() -> dict:
    def study(dataset: str, image: str, noise: str, name: str, psnr: float) -> dict:
        return dict(
            part="study",
            dataset=dataset,
            image=image,
            crop=None,
            shape=[1, 8, 8],
            noise=noise,
            downsampler=name,
            steps=20,
            noisy_psnr_db=20.0,
            psnr_db=psnr,
            ssim=0.7,
            psnr_history=[[10, psnr - 2.0], [20, psnr]],
            seconds=1.0,
        )

    rows = [  # gauss100 first, CBSD68 first: the table sorts Set12 first, then by sigma
        study("CBSD68", "1.png", "gauss25", "diagonal", 30.0),
        study("Set12", "01.png", "gauss100", "diagonal", 20.0),
        study("Set12", "01.png", "gauss100", "max_avg", 21.0),
        study("Set12", "01.png", "gauss25", "max_avg", 26.0),
        study("Set12", "02.png", "gauss25", "max_avg", 28.0),
        study("Set12", "01.png", "gauss25", "diagonal", 28.0),
        study("Set12", "02.png", "gauss25", "diagonal", 30.0),
    ]
    score = {"psnr_db": 28.9, "ssim": 0.8}
    rows.append(
        dict(
            part="ne2ne",
            noise="gauss25",
            set="BSD68",
            steps=6000,
            train_seconds=600.0,
            val_psnr_db=26.0,
            checkpoint="last.ckpt",
            reference=dict(file="benchmarks/results/n2n.json", date="2026-01-01", steps=6000),
            images=[
                dict(
                    image=f"test00{i}.png",
                    noisy_psnr_db=20.5,
                    psnr_db=28.5 + i,
                    ssim=0.79,
                    seconds=1.0,
                    n2n=score,
                    n2c=dict(score, psnr_db=29.0),
                    bm3d=dict(score, psnr_db=28.6),
                )
                for i in (1, 2)
            ],
        )
    )
    machine = {"cpu": "Test CPU", "cores": 2}
    return dict(
        benchmark="downsamplers",
        subset="default",
        date="2026-01-02",
        machine=machine,
        workers=2,
        threads=1,
        rows=rows,
    )


def lines() -> dict:
    def scores(psnr: float, seconds: float = 1.0) -> dict:
        return dict(psnr_db=psnr, ssim=0.9, psnr_lines_db=psnr - 5.0, seconds=seconds)

    def row(image, axis, fraction, noise, n2x, interp, biharm, net=None) -> dict:
        found = dict(
            image=image,
            axis=axis,
            fraction=fraction,
            noise=noise,
            steps=1000,
            damaged_black=dict(psnr_db=10.0, ssim=0.5, detected=True),
            damaged_white=dict(psnr_db=9.0, ssim=0.4, detected=image != "02.png"),
            noise2x=scores(n2x, 500.0),
            interp=scores(interp),
            biharmonic=scores(biharm),
        )
        if net is not None:
            found["noise2x_net"] = scores(net, 900.0)
        return found

    rows = [  # noisy and columns first: the table puts noise-free rows first
        row("01.png", "rows", 0.2, "gauss25", 28.0, 27.0, 27.5, net=25.0),
        row("01.png", "cols", 0.1, "none", 30.0, 29.0, 29.0),
        row("01.png", "rows", 0.2, "none", 35.0, 34.0, 34.5),
        row("02.png", "rows", 0.2, "none", 33.0, 32.0, 33.5),
    ]
    machine = {"cpu": "Test CPU", "cores": 2}
    return dict(
        benchmark="lines",
        subset="default",
        date="2026-01-02",
        machine=machine,
        workers=2,
        threads=1,
        torch="2.13.0",
        rows=rows,
    )


def self2self() -> dict:
    rows = []
    for image, base in (("01.png", 26.0), ("02.png", 31.0)):
        for method, psnr, seconds in (
            ("noisy", 20.0, 0.0),
            ("self2self", base, 540.0),
            ("zsn2n", base + 0.5, 150.0),
            ("bm3d", base + 2.0, 6.0),
        ):
            row = dict(image=image, noise="gauss25", method=method, psnr_db=psnr, ssim=0.8)
            row["seconds"] = seconds
            if method == "self2self":
                row.update(steps=1000, passes=32, psnr_history=[[500, base - 1], [1000, base]])
            rows.append(row)
    machine = {"cpu": "Test CPU", "cores": 2}
    return dict(
        benchmark="self2self",
        subset="default",
        date="2026-01-02",
        machine=machine,
        workers=2,
        threads=1,
        torch="2.13.0",
        rows=rows,
    )


#: Every kind's sample, by kind name (a test checks that every registered kind has one).
SAMPLES = {
    f.__name__: f
    for f in (
        zsn2n,
        zsn2n_step,
        n2n,
        n2n_step,
        tiling_memory,
        real_fmd,
        finetune_prob4,
        downsamplers,
        lines,
        self2self,
    )
}
