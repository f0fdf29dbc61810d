"""The window's speed: cold start, memory, a big history, and GUI stalls under load.

    python3 bench/bench_gui.py [--runs 5]

Runs offscreen (QT_QPA_PLATFORM=offscreen). Each start is a fresh process,
timed from spawn to the window being shown and its event loop running, side
by side with a bare PySide6 QMainWindow script. The stall test streams a
long answer from the test model while a 20-page PDF renders, with a 5 ms
timer recording how late it fires.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BARE = """
import sys, resource
from PySide6.QtWidgets import QApplication, QMainWindow
from PySide6.QtCore import QTimer
app = QApplication([])
w = QMainWindow(); w.resize(1100, 760); w.show()
def shown():
    print("shown", flush=True)
    QTimer.singleShot(1000, report)
def report():
    print("rss", open("/proc/self/status").read().split("VmRSS:")[1].split()[0], flush=True)
    app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""

OURS = """
import sys
from PySide6.QtWidgets import QApplication
from PySide6.QtCore import QTimer
from desktop.settings import load_settings
from desktop.ui import theme
from desktop.ui.main_window import MainWindow
app = QApplication([])
theme.apply(app, load_settings().theme)
w = MainWindow(); w.show()
def shown():
    print("shown", w.sidebar.count(), flush=True)
    QTimer.singleShot(1000, report)
def report():
    print("rss", open("/proc/self/status").read().split("VmRSS:")[1].split()[0], flush=True)
    print("llama_cpp imported:", "llama_cpp" in sys.modules, flush=True)
    w.close(); app.quit()
QTimer.singleShot(0, shown)
app.exec()
"""


def start_once(script: str, env: dict[str, str]) -> tuple[float, int, str]:
    started = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    first = proc.stdout.readline()
    shown = time.perf_counter() - started
    rest = proc.stdout.read()
    proc.wait()
    rss = int(next(line.split()[1] for line in rest.splitlines() if line.startswith("rss")))
    return shown, rss, first.strip() + " " + rest.replace("\n", " ")


def stall_test(home: Path) -> tuple[float, float, int]:
    os.environ["SIGHTLINE_HOME"] = str(home)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow
    from tests import corpus

    app = QApplication.instance() or QApplication([])
    window = MainWindow()
    window.show()
    pdf = corpus.pdf(home / "long.pdf", pages=20, size=(1275, 1650))
    lateness: list[float] = []
    last = [time.perf_counter()]
    tick = QTimer()
    tick.setInterval(5)

    def on_tick() -> None:
        now = time.perf_counter()
        lateness.append(max(0.0, (now - last[0]) * 1000 - 5))
        last[0] = now

    tick.timeout.connect(on_tick)
    tick.start()
    window.send("Write a long answer.", max_tokens=1500)
    window.attach_files([str(pdf)])
    deadline = time.perf_counter() + 120
    busy = lambda: window.turns.answering or window.attachments.busy()  # noqa: E731
    while busy() and time.perf_counter() < deadline:
        app.processEvents()
        time.sleep(0.001)
    tick.stop()
    pages = len(window.attachments.pending_images())
    window.close()
    ordered = sorted(lateness)
    return ordered[-1], ordered[int(0.99 * (len(ordered) - 1))], pages


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    from bench.bench_history import build
    from tests.tinyvlm import SPEC_A, write_vlm

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(REPO))
        empty_home, big_home, model_home = root / "empty", root / "big", root / "model"
        build_home = dict(env, SIGHTLINE_HOME=str(big_home))
        os.environ["SIGHTLINE_HOME"] = str(big_home)
        build(big_home / "data" / "history.sqlite3", 1000, 20)
        results: dict[str, list[tuple[float, int, str]]] = {"bare": [], "ours": [], "big": []}
        for _ in range(args.runs):  # interleaved
            results["bare"].append(start_once(BARE, env))
            results["ours"].append(start_once(OURS, dict(env, SIGHTLINE_HOME=str(empty_home))))
            results["big"].append(start_once(OURS, build_home))
        model, mmproj = write_vlm(SPEC_A, root / "src")
        (model_home / "models" / "tiny").mkdir(parents=True)
        shutil.copy(model, model_home / "models" / "tiny")
        assert mmproj is not None
        shutil.copy(mmproj, model_home / "models" / "tiny")
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
        stalls = [stall_test(model_home) for _ in range(3)]
        worst = statistics.median(s[0] for s in stalls)
        p99 = statistics.median(s[1] for s in stalls)
        pages = stalls[-1][2]

    def med(name: str, i: int) -> float:
        return statistics.median(r[i] for r in results[name])

    print(f"offscreen, {args.runs} runs, medians")
    print(f"{'measure':<52}{'sightline':>10}{'bare Qt':>10}{'ratio':>8}")
    s, b = med("ours", 0) * 1000, med("bare", 0) * 1000
    print(f"{'cold start to window shown (ms)':<52}{s:>10.0f}{b:>10.0f}{s / b:>8.2f}")
    r, rb = med("ours", 1) / 1024, med("bare", 1) / 1024
    print(f"{'idle RSS, window open, no model (MB)':<52}{r:>10.0f}{rb:>10.0f}{r / rb:>8.2f}")
    big = med("big", 0) * 1000
    print(f"{'start with 1,000 conversations, list filled (ms)':<52}{big:>10.0f}")
    print(f"{'longest GUI stall, streaming + 20-page PDF (ms)*':<52}{worst:>10.1f}")
    print(f"{'99th-percentile GUI stall (ms)*':<52}{p99:>10.1f}")
    print("* median over 3 runs of the test")
    print(f"pages rendered during the stall test: {pages}; child output: {results['ours'][0][2]}")
    print(f"list entries shown with the big history: {results['big'][0][2].split()[1]}")


if __name__ == "__main__":
    main()
