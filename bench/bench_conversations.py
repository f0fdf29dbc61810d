"""How conversations behave over many turns: images added later, switching, reopening.

    python3 bench/bench_conversations.py [--runs 3] [--threads 2] [--tokens 32]

Prints one table of medians, every figure measured side by side in the same
run on the same synthetic models (tests/tinyvlm.py SPEC_BENCH: 576 image
tokens, LLaVA-1.5 shaped; and tests/tiny_families.py's Qwen2.5-VL-shaped
M-RoPE pair of similar size, 576 image tokens in 24 positions):

- a conversation whose second image arrives in turn 2: TTFT of turns 3-5 / turn 1
  (target <= 0.10);
- turn-1 TTFT and turn-6 decode speed with flash attention on and off;
- going back to conversation A after B (A -> B -> A) with saved states vs without;
- a follow-up in a conversation reopened after a restart vs the same turn cold;
- follow-up TTFT with 16 pages in the history vs with 1, and vs what preparing
  the 16 pages again cost every turn before prepared images were kept.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.backend import GenParams, Usage
from models.conversation import ImagePart, Message, TextPart
from models.llamacpp import LlamaCppBackend
from models.llamacpp.native_log import route_native_logs
from tests.images import image_part
from tests.tiny_families import BENCH_IMAGE_SIDE, write_family
from tests.tinyvlm import SPEC_A, SPEC_BENCH, write_vlm

Pair = tuple[Path, Path]


def ask(backend: LlamaCppBackend, history: list[Message], tokens: int) -> tuple[str, Usage]:
    text, usage = "", Usage()
    for event in backend.stream(history, GenParams(max_tokens=tokens)):
        if isinstance(event, Usage):
            usage = event
        elif isinstance(event, str):
            text += event
    return text, usage


def user(text: str, *images: ImagePart) -> Message:
    return Message("user", (*images, TextPart(text)))


def photo(seed: int, side: int) -> ImagePart:
    return image_part((30 + seed * 40 % 200, 140, 200 - seed * 30 % 180), (side, side))


def two_image_turns(pair: Pair, threads: int, tokens: int, side: int, **kw: object) -> list[Usage]:
    """Five turns; the second image comes with turn 2."""
    backend = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads, **kw)  # type: ignore[arg-type]
    history = [user("Describe this picture.", photo(0, side))]
    follow_ups = [
        user("And this one?", photo(1, side)),
        user("Compare them."),
        user("Which is brighter?"),
        user("Summarise in one line."),
        user("Anything else?"),
    ]
    usages: list[Usage] = []
    try:
        for follow_up in follow_ups:
            answer, usage = ask(backend, history, tokens)
            usages.append(usage)
            history += [Message.text("assistant", answer.strip()), follow_up]
        return usages
    finally:
        backend.close()


def switching(pair: Pair, threads: int, tokens: int, ram: int) -> float:
    """TTFT of the follow-up in A after a turn in B."""
    backend = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads, saved_states_ram=ram)
    try:
        a = [user("Describe this picture.", photo(2, SPEC_BENCH.image_size))]
        answer, _ = ask(backend, a, tokens)
        ask(backend, [user("What is this?", photo(3, SPEC_BENCH.image_size))], tokens)
        a += [Message.text("assistant", answer.strip()), user("What colours?")]
        return ask(backend, a, tokens)[1].ttft_ms
    finally:
        backend.close()


def reopening(pair: Pair, threads: int, tokens: int, folder: Path | None) -> float:
    """TTFT of a follow-up in a fresh process-like backend; with a folder, states persist."""
    a = [user("Describe this picture.", photo(4, SPEC_BENCH.image_size))]
    kw: dict[str, object] = (
        {"saved_states_dir": folder, "saved_states_disk": 1 << 32} if folder else {}
    )
    first = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads, **kw)  # type: ignore[arg-type]
    answer, _ = ask(first, a, tokens)
    first.close()
    again = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads, **kw)  # type: ignore[arg-type]
    try:
        a += [Message.text("assistant", answer.strip()), user("What colours?")]
        return ask(again, a, tokens)[1].ttft_ms
    finally:
        again.close()


def pages(pair: Pair, threads: int, tokens: int, count: int) -> float:
    """Median follow-up TTFT with ``count`` large page images in the history."""
    backend = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads)
    try:
        scans = [image_part((250, 250, 240 - i), (1344, 1008)) for i in range(count)]
        history = [user("Read these pages.", *scans)]
        ttfts = []
        for question in ("What is on page 2?", "And page 3?", "Any tables?", "Totals?"):
            answer, usage = ask(backend, history, tokens)
            ttfts.append(usage.ttft_ms)
            history += [Message.text("assistant", answer.strip()), user(question)]
        return statistics.median(ttfts[1:])
    finally:
        backend.close()


def preparing(pair: Pair, threads: int, count: int) -> float:
    """Milliseconds to prepare ``count`` page images afresh: what every turn paid before."""
    from models.llamacpp.prepared_images import PreparedImages
    from models.llamacpp.stats import BackendStats

    backend = LlamaCppBackend(*pair, n_ctx=4096, n_threads=threads)
    try:
        fresh = PreparedImages(backend.mtmd_context, 1 << 40, BackendStats())
        scans = [image_part((250, 250, 240 - i), (1344, 1008)) for i in range(count)]
        started = time.perf_counter()
        for scan in scans:
            fresh.get(scan)
        elapsed = (time.perf_counter() - started) * 1000
        fresh.clear()
        return elapsed
    finally:
        backend.close()


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    route_native_logs()
    runs, threads, tokens = args.runs, args.threads, args.tokens
    rows: list[tuple[str, float, float, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bench, bench_proj = write_vlm(SPEC_BENCH, root / "bench")
        small, small_proj = write_vlm(SPEC_A, root / "small")
        assert bench_proj is not None
        assert small_proj is not None
        pair: Pair = (bench, bench_proj)
        side = SPEC_BENCH.image_size

        convs = {
            fa: [two_image_turns(pair, threads, tokens, side, flash_attn=fa) for _ in range(runs)]
            for fa in (False, True)
        }

        def med(fa: bool, turn: slice, key: str) -> float:
            return statistics.median(getattr(u, key) for c in convs[fa] for u in c[turn])

        t1, t35 = med(False, slice(0, 1), "ttft_ms"), med(False, slice(2, 5), "ttft_ms")
        rows.append(("two images: TTFT turns 3-5 / turn 1", t35 / t1, 0.10, "<= target"))
        qwen = write_family("qwen2.5-vl", root / "qwen", bench=True)
        mrope = [two_image_turns(qwen, threads, tokens, BENCH_IMAGE_SIDE) for _ in range(runs)]
        q1 = statistics.median(c[0].ttft_ms for c in mrope)
        q35 = statistics.median(u.ttft_ms for c in mrope for u in c[2:5])
        rows.append(("M-RoPE two images: TTFT turns 3-5 / turn 1", q35 / q1, 0.10, "<= target"))
        rows.append(
            ("turn-1 TTFT ms, flash attn on | off", med(True, slice(0, 1), "ttft_ms"), t1, "")
        )
        rows.append(
            (
                "turn-5 decode tok/s, flash attn on | off",
                med(True, slice(4, 5), "tokens_per_s"),
                med(False, slice(4, 5), "tokens_per_s"),
                "",
            )
        )
        saved = median_of(runs, lambda: switching(pair, threads, tokens, 1 << 30))
        cold = median_of(runs, lambda: switching(pair, threads, tokens, 0))
        rows.append(("A->B->A follow-up TTFT ms: saved | cold", saved, cold, ""))
        reopened = median_of(runs, lambda: reopening(pair, threads, tokens, root / "states"))
        cold_open = median_of(runs, lambda: reopening(pair, threads, tokens, None))
        rows.append(("reopen after restart TTFT ms: saved | cold", reopened, cold_open, ""))
        small_pair: Pair = (small, small_proj)
        sixteen = median_of(runs, lambda: pages(small_pair, threads, tokens, 16))
        one = median_of(runs, lambda: pages(small_pair, threads, tokens, 1))
        rows.append(("follow-up TTFT ms: 16 pages | 1 page", sixteen, one, ""))
        before = median_of(runs, lambda: preparing(small_pair, threads, 16))
        rows.append(("16 pages: follow-up TTFT | re-preparing them", sixteen, before, ""))

    print(f"threads {threads}, {tokens} tokens/turn, {runs} runs, medians")
    print(f"{'measure':<46}{'A':>10}{'B':>10}{'A/B':>8}")
    for label, a, b, note in rows:
        print(f"{label:<46}{a:>10.3f}{b:>10.3f}{a / b:>8.2f} {note}")


if __name__ == "__main__":
    main()
