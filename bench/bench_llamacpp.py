"""Embedded backend vs raw llama-cpp-python, side by side on one synthetic model.

    python3 bench/bench_llamacpp.py [--runs 3] [--threads 2] [--tokens 64]

Prints a table of medians. The model is written fresh with random weights,
large enough that compute dominates (see tests/tinyvlm.py SPEC_BENCH). The
baseline is llama-cpp-python's own multimodal chat handler, which clears
the KV cache and re-encodes every image on every call.
"""

from __future__ import annotations

import argparse
import base64
import io
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image

from desktop.session import ChatSession, TurnResult
from models.backend import GenParams
from models.llamacpp import LlamaCppBackend
from models.llamacpp.native_log import route_native_logs
from tests.images import image_part
from tests.tinyvlm import SPEC_BENCH, write_vlm

QUESTIONS = [
    "Describe this picture.",
    "What colours do you see?",
    "Is there any text?",
    "What is in the top left corner?",
    "Summarise in one line.",
]


def ours(model: Path, mmproj: Path, threads: int, tokens: int, gpu: int) -> dict[str, Any]:
    """Through ChatSession, the path the CLI and the window take."""
    backend = LlamaCppBackend(model, mmproj, n_ctx=4096, n_threads=threads, n_gpu_layers=gpu)
    session = ChatSession(backend, model_label="bench")
    side = SPEC_BENCH.image_size
    photo = image_part((30, 140, 200), (side, side))
    ttfts: list[float] = []
    tps: list[float] = []
    try:
        for i, question in enumerate(QUESTIONS):
            result = TurnResult()
            for _ in session.ask(
                question, [photo] if i == 0 else [], GenParams(max_tokens=tokens), result=result
            ):
                pass
            ttfts.append(result.usage.ttft_ms)
            tps.append(result.usage.tokens_per_s)
        return {"ttft": ttfts, "tps": tps, "encodes": backend.stats.image_encodes}
    finally:
        backend.close()


def raw(model: Path, mmproj: Path, threads: int, tokens: int, gpu: int) -> dict[str, Any]:
    import llama_cpp
    from llama_cpp.llama_chat_format import MTMDChatHandler

    side = SPEC_BENCH.image_size
    photo = image_part((30, 140, 200), (side, side))
    buf = io.BytesIO()
    Image.frombytes("RGB", (photo.width, photo.height), photo.rgb).save(buf, "PNG")
    url = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()
    handler = MTMDChatHandler(clip_model_path=str(mmproj), verbose=False, use_gpu=gpu > 0)
    llm = llama_cpp.Llama(
        model_path=str(model),
        chat_handler=handler,
        n_ctx=4096,
        n_threads=threads,
        n_threads_batch=threads,
        n_gpu_layers=gpu,
        verbose=False,
    )
    messages: list[dict[str, Any]] = []
    ttfts: list[float] = []
    tps: list[float] = []
    try:
        for i, question in enumerate(QUESTIONS):
            content: Any = (
                [
                    {"type": "image_url", "image_url": {"url": url}},
                    {"type": "text", "text": question},
                ]
                if i == 0
                else question
            )
            messages.append({"role": "user", "content": content})
            start = time.perf_counter()
            first = last = 0.0
            chunks = 0
            text = ""
            for chunk in llm.create_chat_completion(
                messages=messages, max_tokens=tokens, temperature=0.0, stream=True
            ):
                delta = chunk["choices"][0]["delta"].get("content")  # type: ignore[index]
                if delta:
                    now = time.perf_counter()
                    if not first:
                        first = now
                    last = now
                    chunks += 1
                    text += delta
            ttfts.append((first - start) * 1000)
            tps.append((chunks - 1) / (last - first) if chunks > 1 and last > first else 0.0)
            messages.append({"role": "assistant", "content": text})
        return {"ttft": ttfts, "tps": tps}
    finally:
        llm.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--gpu-layers", type=int, default=0, help="layers to offload (CUDA builds)")
    args = parser.parse_args()
    route_native_logs()  # both sides quiet, so neither pays for printing llama.cpp's logs
    with tempfile.TemporaryDirectory() as tmp:
        model, mmproj = write_vlm(SPEC_BENCH, Path(tmp))
        assert mmproj is not None
        results: dict[str, list[dict[str, Any]]] = {"ours": [], "raw": []}
        for _ in range(args.runs):  # interleaved, so drift hits both alike
            results["raw"].append(raw(model, mmproj, args.threads, args.tokens, args.gpu_layers))
            results["ours"].append(ours(model, mmproj, args.threads, args.tokens, args.gpu_layers))

    def med(name: str, key: str, turns: slice) -> float:
        return statistics.median(v for r in results[name] for v in r[key][turns])

    rows = [
        (
            "decode tokens/s (all turns)",
            med("ours", "tps", slice(None)),
            med("raw", "tps", slice(None)),
        ),
        ("TTFT turn 1 (ms)", med("ours", "ttft", slice(0, 1)), med("raw", "ttft", slice(0, 1))),
        (
            "TTFT turns 2-5 (ms)",
            med("ours", "ttft", slice(1, None)),
            med("raw", "ttft", slice(1, None)),
        ),
    ]
    print(
        f"model: {SPEC_BENCH.name}, image {SPEC_BENCH.image_size}px, threads {args.threads}, "
        f"{args.tokens} tokens/turn, {args.runs} runs, medians"
    )
    print(f"{'measure':<30}{'sightline':>12}{'raw l-c-p':>12}{'ratio':>8}")
    for label, a, b in rows:
        print(f"{label:<30}{a:>12.1f}{b:>12.1f}{a / b:>8.2f}")
    t1 = med("ours", "ttft", slice(0, 1))
    t25 = med("ours", "ttft", slice(1, None))
    r1 = med("raw", "ttft", slice(0, 1))
    r25 = med("raw", "ttft", slice(1, None))
    print(f"{'follow-up TTFT / turn-1 TTFT':<30}{t25 / t1:>12.3f}{r25 / r1:>12.3f}")
    print(
        f"image encodes per 5-turn conversation: sightline {results['ours'][0]['encodes']}, raw 5"
    )


if __name__ == "__main__":
    main()
