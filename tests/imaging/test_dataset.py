"""Dataset generation on a real dask LocalCluster: determinism, resume, failures, bad input."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from mrfm.imaging.dataset import array_checksum, generate_dataset, read_manifest
from mrfm.imaging.pipeline import RESOLUTION_SEPARATIONS, reconstruct_file

CONFIG = """
name = "dataset test"
[cantilever]
k = "60 uN/m"
f0 = "3 kHz"
Q = 2e4
[stage]
temperature = "300 mK"
[magnet]
shape = "sphere"
radius = "50 nm"
polarization = "1.9 T"
[field]
B0 = "3 T"
[rf]
frequency = "135.1 MHz"
B1 = "4 mT"
fm_depth = "8 mT"
[sample]
species = "1H"
shape = "slab"
size = ["100 nm", "100 nm"]
thickness = "20 nm"
density = "5e28 m^-3"
voxel = "2 nm"
[protocol]
name = "CAI"
polarization = "statistical"
[scan]
height = "25 nm"
[dataset]
phantoms = ["rods", "blobs", "defects", "film"]
grid = [12, 12, 3]
rod_length = ["10 nm", "20 nm"]
rod_radius = ["2 nm", "3 nm"]
drift_rate = "1 pm/s"
seed = 7
[dataset.vary]
"scan.height" = ["20 nm", "30 nm"]
"""


@pytest.fixture(scope="module")
def clients():
    from mrfm.imaging.dataset import connect

    made = {n: connect(None, n) for n in (1, 2)}
    yield {n: c for n, (c, _) in made.items()}
    for client, cluster in made.values():
        client.close()
        cluster.close()


def _write(tmp_path, text=CONFIG, name="exp.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def _arrays(path):
    with h5py.File(path, "r") as fh:
        return [fh[k][()] for k in ("entry/ground_truth/density", "entry/data/signal_noiseless",
                                    "entry/data/signal")]


def test_same_seed_gives_identical_arrays_with_1_and_2_workers(tmp_path, clients):
    cfg = _write(tmp_path)
    one = generate_dataset(cfg, count=3, out_dir=tmp_path / "w1", client=clients[1],
                           progress=False)
    two = generate_dataset(cfg, count=3, out_dir=tmp_path / "w2", client=clients[2],
                           progress=False)
    assert one["generated"] == two["generated"] == 3
    m1, m2 = read_manifest(one["manifest"]), read_manifest(two["manifest"])
    assert [r["sha256"] for r in m1] == [r["sha256"] for r in m2]
    for i in range(3):
        a1, a2 = _arrays(tmp_path / "w1" / m1[i]["file"]), _arrays(tmp_path / "w2" / m2[i]["file"])
        for x, y in zip(a1, a2, strict=True):
            assert x.tobytes() == y.tobytes()
        assert array_checksum(*a1) == m1[i]["sha256"]
    # items differ from each other and carry units and SNR
    assert len({r["sha256"] for r in m1}) == 3
    with h5py.File(tmp_path / "w1" / m1[0]["file"], "r") as fh:
        assert fh["entry"].attrs["mrfm_kind"] == "dataset_item"
        assert fh["entry/ground_truth/density"].attrs["units"] == "m^-3"
        assert fh["entry/data/signal"].attrs["units"] == "N^2"
        assert "config" in fh["entry"]
    assert all(r["snr"] > 0 and 20e-9 <= r["parameters"]["scan.height"] <= 30e-9 for r in m1)


def test_resume_regenerates_only_the_damaged_item(tmp_path, clients):
    cfg = _write(tmp_path)
    out = tmp_path / "set"
    first = generate_dataset(cfg, count=4, out_dir=out, client=clients[2], progress=False)
    assert first["generated"] == 4
    before = {p.name: p.stat().st_mtime_ns for p in out.glob("item_*.h5")}
    with open(out / "item_000002.h5", "r+b") as fh:  # corrupt the arrays' bytes
        fh.seek(-4000, os.SEEK_END)
        fh.write(b"\xff" * 2000)
    time.sleep(0.01)
    second = generate_dataset(cfg, count=4, out_dir=out, client=clients[2], progress=False)
    assert (second["generated"], second["skipped"], second["failed"]) == (1, 3, 0)
    after = {p.name: p.stat().st_mtime_ns for p in out.glob("item_*.h5")}
    changed = [name for name in before if before[name] != after[name]]
    assert changed == ["item_000002.h5"]
    records = read_manifest(second["manifest"])
    assert [r["index"] for r in records] == [0, 1, 2, 3]
    assert records[2]["sha256"] == read_manifest(first["manifest"])[2]["sha256"]


def test_failing_item_is_recorded_and_the_set_goes_on(tmp_path, clients):
    # heights drawn from [-10 nm, 30 nm]: negative heights are rejected by the config
    text = CONFIG.replace('"scan.height" = ["20 nm", "30 nm"]',
                          '"scan.height" = ["-30 nm", "30 nm"]')
    cfg = _write(tmp_path, text)
    summary = generate_dataset(cfg, count=4, out_dir=tmp_path / "f", client=clients[2],
                               progress=False)
    records = read_manifest(summary["manifest"])
    bad = [r for r in records if r["status"] == "error"]
    good = [r for r in records if r["status"] == "ok"]
    assert bad and good and summary["failed"] == len(bad)
    assert all("scan.height" in r["error"] for r in bad)
    assert all(r["parameters"] is None or r["parameters"]["scan.height"] < 0 for r in bad)


# ------------------------------------------------------------------------- command line
def _cli(capsys, *argv):
    from mrfm.cli.main import main

    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _one_line(code, err, fragment):
    assert code == 2, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert fragment in lines[0], lines[0]


@pytest.mark.parametrize(("edit", "fragment"), [
    (('phantoms = ["rods", "blobs", "defects", "film"]', 'phantoms = ["rods", "virions"]'),
     "unknown phantom type 'virions'"),
    (('rod_length = ["10 nm", "20 nm"]', 'rod_length = ["30 nm", "20 nm"]'),
     "impossible range"),
    (('"scan.height" = ["20 nm", "30 nm"]', '"scan.height" = ["40 nm", "30 nm"]'),
     "impossible range"),
])
def test_bad_dataset_sections_exit_2(tmp_path, capsys, edit, fragment):
    cfg = _write(tmp_path, CONFIG.replace(*edit))
    code, _, err = _cli(capsys, "dataset", str(cfg), "-n", "2", "-o", str(tmp_path / "o"))
    _one_line(code, err, fragment)


def test_unreachable_scheduler_exits_2_within_10_s(tmp_path, capsys):
    cfg = _write(tmp_path)
    t0 = time.monotonic()
    code, _, err = _cli(capsys, "dataset", str(cfg), "-n", "1", "-o", str(tmp_path / "o"),
                        "--scheduler", "tcp://127.0.0.1:9")
    assert time.monotonic() - t0 < 15.0
    _one_line(code, err, "cannot reach the dask scheduler")


def test_reconstruct_item_and_file_without_configuration(tmp_path, capsys, clients):
    # this item's readings are noise-dominated (peak SNR ~2): the discrepancy principle may
    # rightly stop before the first iteration, so the plumbing is tested with a fixed count
    cfg = _write(tmp_path, CONFIG + '[reconstruction]\nstopping = "fixed"\niterations = 25\n')
    summary = generate_dataset(cfg, count=1, out_dir=tmp_path / "r", client=clients[1],
                               progress=False)
    item = tmp_path / "r" / read_manifest(summary["manifest"])[0]["file"]
    out = tmp_path / "rec.h5"
    code, stdout, err = _cli(capsys, "reconstruct", str(item), "-o", str(out), "--json")
    assert code == 0, err
    result = json.loads(stdout)
    assert result["stopping_rule"] in ("discrepancy", "fixed")
    assert -1.0 <= result["correlation"] <= 1.0 and result["iterations"] >= 1
    with h5py.File(out, "r") as fh:
        assert fh["entry/data/density"].attrs["units"] == "m^-3"
        assert np.min(fh["entry/data/density"][()]) >= 0
    code, _, err = _cli(capsys, "plot", str(out), "-o", str(tmp_path / "rec.png"))
    assert code == 0 and (tmp_path / "rec.png").stat().st_size > 0
    # progress counts every iteration: the reconstruction's, then the two-point tests'
    seen: list[tuple[int, int]] = []
    again = reconstruct_file(item, tmp_path / "rec2.h5",
                             progress=lambda done, total: seen.append((done, total)))
    assert again["iterations"] == result["iterations"]
    fractions = [done / total for done, total in seen]
    assert fractions == sorted(fractions) and seen[-1][0] == seen[-1][1]
    assert all(0 <= done <= total for done, total in seen)
    first_phase = [done for done, _ in seen[:again["iterations"]]]
    assert first_phase == list(range(1, again["iterations"] + 1))
    assert seen[-1][1] == again["iterations"] * (1 + 3 * RESOLUTION_SEPARATIONS)
    # the forward model takes the item's lock-in capture g (the reading's mean is
    # g sigma^2): with g halved the same data reconstruct to twice the density
    with h5py.File(item, "r") as fh:
        assert 0.0 < float(fh["entry/imaging/spin_capture"][()]) < 1.0
    dens, halved = _reconstruct_with_half_the_capture(item, tmp_path)
    np.testing.assert_allclose(halved, 2.0 * dens, rtol=1e-9, atol=1e-9 * np.max(dens))
    # strip the configuration: exit 2, one line
    bare = tmp_path / "bare.h5"
    with h5py.File(item, "r") as src, h5py.File(bare, "w") as dst:
        src.copy("entry", dst)
        del dst["entry/config"]
    code, _, err = _cli(capsys, "reconstruct", str(bare), "-o", str(tmp_path / "x.h5"))
    _one_line(code, err, "no experiment configuration")


def test_sigkill_mid_run_then_resume_gives_the_same_set(tmp_path, clients):
    """A `mrfm dataset` process killed with SIGKILL leaves only whole items (each written to
    a temporary name and renamed); the rerun keeps them and completes the same set."""
    cfg = _write(tmp_path)
    out = tmp_path / "set"
    count = 8
    cmd = [sys.executable, "-m", "mrfm.cli.main", "dataset", str(cfg), "-n", str(count),
           "-o", str(out), "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while len(list(out.glob("item_*.h5"))) < 2:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "no items written within 240 s"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    written = sorted(p.name for p in out.glob("item_*.h5"))
    assert 2 <= len(written) < count, written
    (out / ".item_000007.h5.abc123.tmp").write_bytes(b"partial")  # as a kill can leave
    resumed = generate_dataset(cfg, count=count, out_dir=out, client=clients[2], progress=False)
    assert not list(out.glob(".*.tmp"))  # partial copies removed
    assert resumed["skipped"] >= len(written) - 1  # at most the item being renamed is redone
    assert resumed["skipped"] + resumed["generated"] == count and resumed["failed"] == 0
    fresh = generate_dataset(cfg, count=count, out_dir=tmp_path / "fresh", client=clients[1],
                             progress=False)
    assert [r["sha256"] for r in read_manifest(resumed["manifest"])] == \
        [r["sha256"] for r in read_manifest(fresh["manifest"])]


def _kernel_threads() -> tuple[int, int]:
    import numba

    return numba.config.NUMBA_NUM_THREADS, numba.get_num_threads()


def test_local_workers_share_the_cores_between_their_kernel_threads(clients):
    """Each LocalCluster worker runs numba's parallel kernels on its share of the cores
    (with numba's default, every worker started a thread per core: two workers on two
    cores then generated fewer items per second than one)."""
    from mrfm.imaging.dataset import worker_kernel_threads

    cores = len(os.sched_getaffinity(0))
    assert worker_kernel_threads(1) == cores
    assert worker_kernel_threads(2) == max(1, cores // 2)
    assert worker_kernel_threads(4 * cores) == 1
    for n, client in clients.items():
        per_worker = client.run(_kernel_threads)
        assert len(per_worker) == n
        assert set(per_worker.values()) == {(max(1, cores // n), max(1, cores // n))}


def _stale_record() -> dict:
    return {"file": "another_set/item_000000.h5", "index": 0, "seed": "7:0", "phantom": "rods",
            "parameters": {}, "snr": 1.0, "sha256": "0" * 64, "status": "ok", "error": None}


def test_a_task_still_held_from_an_earlier_call_is_not_taken_for_this_item(tmp_path, clients):
    """Each call submits its items under keys of its own: a future of an earlier call with
    the same set and index that the client still held (released asynchronously) used to
    answer for the new item, which was then never written."""
    from mrfm.config import load
    from mrfm.imaging.dataset import set_id

    cfg = _write(tmp_path)
    client = clients[1]
    identity = set_id(load(cfg).source_text)
    held = client.submit(_stale_record, key=f"mrfm-item-{identity[:12]}-0", pure=False)
    assert held.result()["file"].startswith("another_set")
    done = generate_dataset(cfg, count=2, out_dir=tmp_path / "set", client=client,
                            progress=False)
    records = read_manifest(done["manifest"])
    assert [r["file"] for r in records] == ["item_000000.h5", "item_000001.h5"]
    assert all((tmp_path / "set" / r["file"]).is_file() for r in records)
    held.release()


def test_items_take_the_correlation_time_of_the_passages():
    """The noise model's tau_m is the spins' correlation time under the passages
    (timedomain.spins.spin_correlation_time: with B1 = 1 mT the Landau-Zener losses end
    the lock after ~1 ms, not T1rho = 1 s), as the rig and the time domain use; the item's
    lock-in capture shows it. B1 so weak that no lock survives a passage: exit-2 error."""
    from mrfm.config import loads
    from mrfm.errors import ConfigError
    from mrfm.imaging.dataset_item import make_item
    from mrfm.physics.lockin import time_constant_for_enbw
    from mrfm.physics.spin_noise import lockin_capture_fraction
    from mrfm.timedomain.spins import spin_correlation_time

    text = CONFIG.replace('B1 = "4 mT"', 'B1 = "1 mT"')
    item = make_item(text, 0)
    exp = item.experiment
    tau_m = spin_correlation_time(exp)
    assert 0 < tau_m < 0.01 * exp.protocol.T1rho
    order = loads(text).section("dataset").lockin_order
    tau = time_constant_for_enbw(exp.protocol.bandwidth, order)
    assert item.noise["spin_capture"] == pytest.approx(
        lockin_capture_fraction(tau_m, tau, order), rel=1e-12, abs=0.0)
    weak = CONFIG.replace('B1 = "4 mT"', 'B1 = "0.2 mT"')
    with pytest.raises(ConfigError, match="do not keep the spins locked"):
        make_item(weak, 0)
    # with a given SNR no spin noise is modelled: the lock's lifetime does not matter
    assert make_item(weak.replace("seed = 7", "seed = 7\nsnr = 10"), 0).noisy.size > 0


def test_a_force_items_capture_does_not_scale_its_reconstruction(tmp_path, clients):
    """A Curie (force) item records the capture of its spin noise, but its reading's mean is
    the force itself: the reconstruction's forward model is not scaled (only N^2 data are)."""
    cfg = _write(tmp_path, CONFIG.replace('polarization = "statistical"',
                                          'polarization = "curie"'))
    summary = generate_dataset(cfg, count=1, out_dir=tmp_path / "c", client=clients[1],
                               progress=False)
    item = tmp_path / "c" / read_manifest(summary["manifest"])[0]["file"]
    with h5py.File(item, "r") as fh:
        assert fh["entry/data/signal"].attrs["units"] == "N"
    dens, halved = _reconstruct_with_half_the_capture(item, tmp_path)
    np.testing.assert_array_equal(halved, dens)


def _reconstruct_with_half_the_capture(item, tmp_path):
    """(density of ``item``, density of a copy whose spin_capture is halved), each
    reconstructed with 30 fixed FISTA iterations and no resolution test."""
    from mrfm.config.reconstruction import ReconstructionSettings

    halved = tmp_path / "halved.h5"
    with h5py.File(item, "r") as src, h5py.File(halved, "w") as dst:
        src.copy("entry", dst)
        dst["entry/imaging/spin_capture"][()] = 0.5 * float(src["entry/imaging/spin_capture"][()])
    quick = ReconstructionSettings(resolution_test=False, stopping="fixed", iterations=30)
    dens = []
    for path, name in ((item, "a.h5"), (halved, "b.h5")):
        reconstruct_file(path, tmp_path / name, settings=quick)
        with h5py.File(tmp_path / name, "r") as fh:
            dens.append(fh["entry/data/density"][()])
    assert np.max(dens[0]) > 0
    return dens[0], dens[1]


def test_items_drift_at_the_stages_rate_unless_the_dataset_sets_one():
    """Without ``dataset.drift_rate`` an item drifts at the experiment's stage law
    (Stage.drift_rate = L alpha(T) |dT/dt| + residual; here 300 K with the loop, rate and
    residual set in [stage]: 2 cm x 8.6e-6/K x 1 K/h + 2 nm/h = 4.83e-11 m/s), recorded
    with its rms displacement, rate x dwell x sqrt(mean(i^2)) over the acquisition's
    points i = 0..n-1 (closed form sqrt((n - 1)(2n - 1)/6)); ``drift_rate = 0`` turns
    drift off (before 5 December 2026 the default was 0 whatever the stage)."""
    from mrfm.config import loads
    from mrfm.imaging.dataset_item import make_item
    from mrfm.physics.lockin import time_constant_for_enbw

    text = CONFIG.replace('drift_rate = "1 pm/s"\n', "").replace(
        'temperature = "300 mK"', 'temperature = "300 K"\nloop_length = "2 cm"\n'
        'temperature_rate = "1 K/h"\nresidual_drift = "2 nm/h"')
    item = make_item(text, 0)
    exp = item.experiment
    rate = exp.stage.drift_rate
    assert rate == pytest.approx((0.02 * 8.6e-6 * 1.0 + 2e-9) / 3600, rel=1e-9)
    assert item.noise["drift_rate"] == rate
    n = item.noisy.size
    order = loads(text).section("dataset").lockin_order
    dwell = 5 * time_constant_for_enbw(exp.protocol.bandwidth, order)
    expected = rate * dwell * math.sqrt((n - 1) * (2 * n - 1) / 6)
    assert item.noise["drift_rms"] == pytest.approx(expected, rel=1e-9)
    off = make_item(text.replace("seed = 7", "seed = 7\ndrift_rate = 0"), 0)
    assert off.noise["drift_rms"] == 0.0 and off.noise["drift_rate"] == 0.0
