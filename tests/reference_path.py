"""llama.cpp's own way to answer a prompt, to check Sightline's engine against.

A fresh context (an empty KV cache) evaluates the prompt the way llama.cpp's
tools do: ``mtmd_tokenize`` splits it into text and image chunks and
``mtmd_helper_eval_chunks`` evaluates them all in one pass; then greedy
sampling. No cache reuse, no respelling, no position bookkeeping of ours, so
when the engine's answer differs from this one the engine is wrong.

For a follow-up, :meth:`Reference.greedy_units` evaluates an explicit sequence
of units in one pass: exactly what a correct engine holds in its KV cache
after reusing turn 1 (turn 1's prompt, the tokens it generated, then the new
part of turn 2's prompt).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import llama_cpp
from llama_cpp import mtmd_cpp

from models.conversation import ImagePart
from models.llamacpp.native_log import route_native_logs

_SEQ = 0


@dataclass(frozen=True)
class ImageChunk:
    """One image chunk of a tokenized prompt (a whole image, or one slice or tile of it)."""

    index: int
    """Position among the prompt's mtmd chunks."""
    digest: str
    n_tokens: int
    n_pos: int


Unit = int | ImageChunk


@dataclass
class Prompt:
    """mtmd's chunks of one prompt, and the same as a flat list of units."""

    chunks: Any
    units: list[Unit]

    @property
    def image_chunks(self) -> list[ImageChunk]:
        return [u for u in self.units if isinstance(u, ImageChunk)]

    @property
    def n_tokens(self) -> int:
        return sum(1 if isinstance(u, int) else u.n_tokens for u in self.units)


Item = tuple[Prompt, Unit] | int
"""One element of an evaluated sequence: a unit of a tokenized prompt, or a generated token."""


class Reference:
    """One text model and its projector, loaded the plain llama.cpp way."""

    def __init__(self, model: Path, mmproj: Path, *, n_ctx: int = 2048, n_threads: int = 2):
        route_native_logs()
        self.llm = llama_cpp.Llama(
            model_path=str(model),
            n_ctx=n_ctx,
            n_batch=512,
            n_ubatch=512,
            n_threads=n_threads,
            n_threads_batch=n_threads,
            flash_attn=True,  # as the engine loads models: the same float rounding on both sides
            verbose=False,
        )
        self.ctx = self.llm._ctx.ctx
        self.vocab = self.llm._model.vocab
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = False
        params.print_timings = False
        params.n_threads = n_threads
        params.warmup = False
        self.mtmd = mtmd_cpp.mtmd_init_from_file(
            str(mmproj).encode(), self.llm._model.model, params
        )
        if not self.mtmd:
            self.llm.close()
            raise RuntimeError(f"mtmd could not load {mmproj}")
        self._prompts: list[Prompt] = []
        self.margins: list[float] = []
        """Top-1 logit margin before each token of the last greedy answer."""

    def close(self) -> None:
        for prompt in self._prompts:
            mtmd_cpp.mtmd_input_chunks_free(prompt.chunks)
        self._prompts.clear()
        mtmd_cpp.mtmd_free(self.mtmd)
        self.llm.close()

    # -- tokens ---------------------------------------------------------------

    def piece(self, token: int) -> bytes:
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, True)
        return buf.raw[: max(n, 0)]

    def text(self, tokens: Sequence[int]) -> str:
        """What a user sees: control tokens spelled as nothing."""
        out = bytearray()
        buf = ctypes.create_string_buffer(256)
        for token in tokens:
            n = llama_cpp.llama_token_to_piece(self.vocab, token, buf, len(buf), 0, False)
            out += buf.raw[: max(n, 0)]
        return out.decode("utf-8", errors="replace")

    def tokenize(self, text: str, images: Sequence[ImagePart]) -> Prompt:
        """``mtmd_tokenize`` with BOS as the vocabulary wants it and special tokens parsed."""
        bitmaps = []
        for image in images:
            pixels = (ctypes.c_uint8 * len(image.rgb)).from_buffer_copy(image.rgb)
            bitmap = mtmd_cpp.mtmd_bitmap_init(image.width, image.height, pixels)
            mtmd_cpp.mtmd_bitmap_set_id(bitmap, image.digest.encode())
            bitmaps.append(bitmap)
        data = text.encode()
        inp = mtmd_cpp.mtmd_input_text()
        inp.text = data
        inp.text_len = len(data)
        inp.add_special = True
        inp.parse_special = True
        chunks = mtmd_cpp.mtmd_input_chunks_init()
        array = (mtmd_cpp.mtmd_bitmap_p_ctypes * max(1, len(bitmaps)))(*bitmaps)
        status = mtmd_cpp.mtmd_tokenize(self.mtmd, chunks, ctypes.byref(inp), array, len(bitmaps))
        for bitmap in bitmaps:
            mtmd_cpp.mtmd_bitmap_free(bitmap)
        if status != 0:
            mtmd_cpp.mtmd_input_chunks_free(chunks)
            raise RuntimeError(f"mtmd_tokenize failed ({status})")
        units: list[Unit] = []
        n_out = ctypes.c_size_t(0)
        for i in range(mtmd_cpp.mtmd_input_chunks_size(chunks)):
            chunk = mtmd_cpp.mtmd_input_chunks_get(chunks, i)
            if mtmd_cpp.mtmd_input_chunk_get_type(chunk) == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_TEXT:
                tokens = mtmd_cpp.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n_out))
                units.extend(tokens[: n_out.value])
            else:
                units.append(
                    ImageChunk(
                        index=i,
                        digest=(mtmd_cpp.mtmd_input_chunk_get_id(chunk) or b"").decode(),
                        n_tokens=mtmd_cpp.mtmd_input_chunk_get_n_tokens(chunk),
                        n_pos=mtmd_cpp.mtmd_input_chunk_get_n_pos(chunk),
                    )
                )
        prompt = Prompt(chunks, units)
        self._prompts.append(prompt)
        return prompt

    # -- evaluation -----------------------------------------------------------

    @contextmanager
    def _fresh(self) -> Iterator[None]:
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(self.ctx), True)
        yield

    def greedy(self, prompt: Prompt, max_tokens: int) -> list[int]:
        """The prompt through ``mtmd_helper_eval_chunks`` in a fresh context, then greedy."""
        with self._fresh():
            n_past = llama_cpp.llama_pos(0)
            status = mtmd_cpp.mtmd_helper_eval_chunks(
                self.mtmd, self.ctx, prompt.chunks, 0, _SEQ, 512, True, ctypes.byref(n_past)
            )
            if status != 0:
                raise RuntimeError(f"mtmd_helper_eval_chunks failed ({status})")
            return self._sample(n_past.value, max_tokens)

    def greedy_units(self, sequence: Sequence[Item], max_tokens: int) -> list[int]:
        """An explicit sequence in one pass: images from their prompt's chunks, then tokens."""
        with self._fresh():
            n_past = 0
            pending: list[int] = []
            for item in sequence:
                unit = item if isinstance(item, int) else item[1]
                if isinstance(unit, int):
                    pending.append(unit)
                    continue
                assert not isinstance(item, int)
                n_past = self._decode(pending, n_past, logits_last=False)
                pending = []
                prompt, image = item[0], unit
                chunk = mtmd_cpp.mtmd_input_chunks_get(prompt.chunks, image.index)
                new_n_past = llama_cpp.llama_pos(0)
                status = mtmd_cpp.mtmd_helper_eval_chunk_single(
                    self.mtmd, self.ctx, chunk, n_past, _SEQ, 512, False, ctypes.byref(new_n_past)
                )
                if status != 0:
                    raise RuntimeError(f"mtmd_helper_eval_chunk_single failed ({status})")
                n_past = new_n_past.value
            assert pending, "a sequence to sample after ends with text"
            n_past = self._decode(pending, n_past, logits_last=True)
            return self._sample(n_past, max_tokens)

    def _decode(self, tokens: Sequence[int], n_past: int, *, logits_last: bool) -> int:
        if not tokens:
            return n_past
        batch = self.llm._batch
        for start in range(0, len(tokens), 512):
            part = tokens[start : start + 512]
            batch.set_batch(part, n_past, logits_all=False)
            batch.batch.logits[len(part) - 1] = logits_last and start + 512 >= len(tokens)
            if llama_cpp.llama_decode(self.ctx, batch.batch) != 0:
                raise RuntimeError("llama_decode failed")
            n_past += len(part)
        return n_past

    def _sample(self, n_past: int, max_tokens: int) -> list[int]:
        sampler = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        llama_cpp.llama_sampler_chain_add(sampler, llama_cpp.llama_sampler_init_greedy())
        out: list[int] = []
        self.margins = []
        try:
            for _ in range(max_tokens):
                self.margins.append(self._top_margin())
                token = llama_cpp.llama_sampler_sample(sampler, self.ctx, -1)
                if llama_cpp.llama_vocab_is_eog(self.vocab, token):
                    break
                out.append(token)
                n_past = self._decode([token], n_past, logits_last=True)
        finally:
            llama_cpp.llama_sampler_free(sampler)
        return out

    def _top_margin(self) -> float:
        """Logit gap between the best and the second-best next token."""
        logits = llama_cpp.llama_get_logits_ith(self.ctx, -1)
        n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        best, second = sorted(logits[:n_vocab], reverse=True)[:2]
        return float(best - second)


def whole(prompt: Prompt) -> list[Item]:
    return [(prompt, u) for u in prompt.units]


def reused_sequence(
    cached: Sequence[Item],
    previous: Prompt,
    generated: Sequence[int],
    prompt: Prompt,
    piece: Any,
) -> list[Item] | None:
    """What a KV cache that reused the last turn holds before the next answer, or None.

    ``cached`` was evaluated for ``previous`` (the last turn's prompt) and the
    model then generated ``generated``; a correct engine keeps all of it,
    however the answer's text would tokenize now, and evaluates only the
    units of ``prompt`` after the point where its text spells that answer.
    The answer a user sees lost its leading space and the template may add
    one, so one leading space on either side is ignored. None when ``prompt``
    does not start with ``previous`` or does not spell the answer up to a
    token boundary.
    """
    n = len(previous.units)
    head = prompt.units[:n]
    if len(prompt.units) <= n or not all(map(_same, previous.units, head)):
        return None
    answer = b"".join(piece(t) for t in generated).lstrip(b" ")
    spelled = b""
    k = n
    while spelled.lstrip(b" ") != answer:
        unit = prompt.units[k] if k < len(prompt.units) else None
        if not isinstance(unit, int) or not answer.startswith(spelled.lstrip(b" ")):
            return None
        spelled += piece(unit)
        k += 1
    return [*cached, *generated, *[(prompt, u) for u in prompt.units[k:]]]


def _same(a: Unit, b: Unit) -> bool:
    if isinstance(a, int) or isinstance(b, int):
        return a == b
    return (a.digest, a.n_tokens, a.n_pos) == (b.digest, b.n_tokens, b.n_pos)
