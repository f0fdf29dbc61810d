"""A vision model running inside Sightline's own process with llama.cpp.

The point of this backend is follow-up speed. llama-cpp-python's chat
handlers clear the KV cache and re-encode every image on every call; here the
evaluated sequence of the conversation (text tokens, and images by content
hash) is remembered, and each turn evaluates only what is new after the
longest prefix it shares with what is already in the cache. A follow-up
question about a photo costs its own few tokens, not the photo again.
"""

from __future__ import annotations

import codecs
import ctypes
import logging
import os
import threading
from collections.abc import Generator, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Literal

import llama_cpp
from llama_cpp import mtmd_cpp

from models.backend import (
    Capabilities,
    Event,
    GenParams,
    Progress,
    Usage,
)
from models.conversation import ImagePart, Message
from models.errors import ContextOverflowError, ModelError
from models.gguf_info import read_text_model, validate_pair
from models.json_grammar import object_grammar
from models.llamacpp.chat_template import LLAVA_15_TEMPLATE, ChatTemplate
from models.llamacpp.kv_states import SavedStates, model_fingerprint
from models.llamacpp.native_log import route_native_logs
from models.llamacpp.prepared_images import MEDIA_MARKER, PreparedImages
from models.llamacpp.sequence import (
    ImageUnit,
    Unit,
    n_positions,
    n_tokens,
    respelled_prefix,
    reusable_prefix,
)
from models.llamacpp.stats import BackendStats
from models.stream_relay import Finished, Pieces, StreamRelay

_log = logging.getLogger(__name__)
_SEQ = 0


def _load(flash_attn: bool | None, **params: Any) -> llama_cpp.Llama:
    """The model and its context, with flash attention unless the setting turns it off.

    llama-server turns it on wherever the backend supports it; measured here
    on the CPU it is faster too, for the first turn (0.80x its time) and for
    decoding even with 3,500 tokens of context (bench/bench_conversations.py,
    docs/benchmarks.md). Where a backend cannot do it, the context is made
    again without.
    """
    if flash_attn is not False:
        try:
            return llama_cpp.Llama(flash_attn=True, **params)
        except (ValueError, RuntimeError) as exc:
            if flash_attn:  # asked for explicitly: say why it failed
                raise
            _log.info("flash attention unavailable here (%s); loading without", exc)
    return llama_cpp.Llama(flash_attn=False, **params)


class _Prompt:
    """A tokenized prompt: units for cache matching, and mtmd chunks for evaluating images."""

    def __init__(self, units: list[Unit], image_chunks: dict[int, Any]) -> None:
        self.units = units
        self.image_chunks = image_chunks  # unit index -> mtmd chunk (owned by PreparedImages)


_MIN_SAVED_TOKENS = 32
"""A conversation shorter than this is cheaper to evaluate again than to save."""

_PREPARED_BUDGET = 512 * 1024 * 1024
"""Prepared images kept between turns: a few dozen pages' worth, freed oldest first."""


class LlamaCppBackend:
    """One loaded GGUF text model, plus its mmproj when it can see."""

    def __init__(
        self,
        model_path: str | Path,
        mmproj_path: str | Path | None = None,
        *,
        name: str | None = None,
        n_ctx: int = 4096,
        n_threads: int | None = None,
        n_gpu_layers: int = 0,
        n_batch: int = 512,
        flash_attn: bool | None = None,
        saved_states_ram: int = 0,
        saved_states_dir: Path | None = None,
        saved_states_disk: int = 0,
    ) -> None:
        model_path = Path(model_path)
        if mmproj_path is not None:
            text_header, projector = validate_pair(model_path, mmproj_path)
        else:
            text_header, projector = read_text_model(model_path), None
        route_native_logs()
        threads = n_threads or max(1, (os.cpu_count() or 2) // 2)
        train_ctx = text_header.context_length or n_ctx
        self._stack = ExitStack()
        try:
            self._llm = _load(
                flash_attn,
                model_path=str(model_path),
                n_ctx=min(n_ctx, train_ctx),
                n_batch=n_batch,
                n_ubatch=n_batch,
                n_threads=threads,
                n_threads_batch=threads,
                n_gpu_layers=n_gpu_layers,
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise ModelError.for_file(model_path, f"llama.cpp could not load it ({exc})") from exc
        self._stack.callback(self._llm.close)
        self._ctx = self._llm._ctx.ctx
        self._vocab = self._llm._model.vocab
        self._n_ctx = llama_cpp.llama_n_ctx(self._ctx)
        self._n_batch = n_batch
        self._mtmd: Any = None
        self._prepared: PreparedImages | None = None
        self.stats = BackendStats()
        if projector is not None:
            self._mtmd = self._load_projector(projector.path, threads, n_gpu_layers > 0)
            self._prepared = PreparedImages(self._mtmd, _PREPARED_BUDGET, self.stats)
            self._stack.callback(self._prepared.clear)
        self._capabilities = Capabilities(
            name=name or text_header.name or model_path.stem,
            backend="embedded",
            vision=self._mtmd is not None,
            context_length=self._n_ctx,
            max_image_side=projector.max_image_side if projector else None,
        )
        template = text_header.metadata.get("tokenizer.chat_template")
        self._template = ChatTemplate(
            template if isinstance(template, str) and template else LLAVA_15_TEMPLATE,
            bos_token=self._piece(llama_cpp.llama_vocab_bos(self._vocab), special=True),
            eos_token=self._piece(llama_cpp.llama_vocab_eos(self._vocab), special=True),
            add_bos=bool(llama_cpp.llama_vocab_get_add_bos(self._vocab)),
            model_name=self._capabilities.name,
        )
        self._spellings: dict[int, bytes] = {}
        self._cached: list[Unit] = []
        """What the KV cache holds, in order; ``_n_past`` is its length in positions."""
        self._n_past = 0
        self._closed = False
        self._lock = threading.Lock()
        self._states: SavedStates | None = None
        if saved_states_ram > 0 or saved_states_dir is not None:
            folder = None
            if saved_states_dir is not None:
                files = [model_path] + ([projector.path] if projector else [])
                folder = saved_states_dir / model_fingerprint(*files)
            self._states = SavedStates(saved_states_ram, folder, saved_states_disk)

    def _load_projector(self, path: Path, threads: int, use_gpu: bool) -> Any:
        params = mtmd_cpp.mtmd_context_params_default()
        params.use_gpu = use_gpu
        params.print_timings = False
        params.n_threads = threads
        params.warmup = False
        ctx = mtmd_cpp.mtmd_init_from_file(str(path).encode(), self._llm._model.model, params)
        if not ctx:
            self.close()
            raise ModelError.for_file(
                path, "llama.cpp could not load this vision projector (see the log for details)"
            )
        self._stack.callback(mtmd_cpp.mtmd_free, ctx)
        if not mtmd_cpp.mtmd_support_vision(ctx):
            self.close()
            raise ModelError.for_file(path, "this projector has no vision support")
        return ctx

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    @property
    def chat_template(self) -> ChatTemplate:
        return self._template

    @property
    def mtmd_context(self) -> Any:
        """The native mtmd context (None without a projector), for reference checks in tests."""
        return self._mtmd

    def prompt_units(self, messages: Sequence[Message]) -> list[Unit]:
        """The units a conversation is evaluated as (text tokens and images), without evaluating."""
        return self._tokenize(messages).units

    def close(self) -> None:
        """Free native memory now; relying on interpreter shutdown can crash in mtmd's cleanup.

        The conversation in the context is kept first (when saved states are
        on), so reopening it after a restart resumes it.
        """
        # A stream still open (an interrupted answer) holds the lock: then
        # nothing is saved rather than waiting for it.
        if not self._closed and self._states is not None and self._lock.acquire(blocking=False):
            try:
                self._save_live()
                self._states.flush()
            finally:
                self._lock.release()
        self._closed = True
        self._stack.close()
        self._mtmd = None

    # -- tokens ---------------------------------------------------------------

    def _piece(self, token: int, *, special: bool = False) -> str:
        return self._piece_bytes(token, special=special).decode("utf-8", errors="replace")

    def _piece_cached(self, token: int) -> bytes:
        """Token spelling for cache matching; control tokens spell as themselves."""
        piece = self._spellings.get(token)
        if piece is None:
            piece = self._spellings[token] = self._piece_bytes(token, special=True)
        return piece

    def _piece_bytes(self, token: int, *, special: bool = False) -> bytes:
        buf = ctypes.create_string_buffer(64)
        n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = llama_cpp.llama_token_to_piece(self._vocab, token, buf, len(buf), 0, special)
        return buf.raw[:n]

    def _tokenize(self, messages: Sequence[Message]) -> _Prompt:
        images = [img for m in messages for img in m.images]
        text = self._template.render(messages)
        if self._mtmd is None:
            return self._tokenize_text_only(text)
        return self._tokenize_multimodal(text, images)

    def _tokenize_text(self, text: str, *, add_special: bool) -> list[int]:
        data = text.encode("utf-8")
        capacity = len(data) + 8
        buf = (llama_cpp.llama_token * capacity)()
        n = llama_cpp.llama_tokenize(self._vocab, data, len(data), buf, capacity, add_special, True)
        if n < 0:
            raise ModelError("the prompt could not be tokenized")
        return list(buf[:n])

    def _tokenize_text_only(self, text: str) -> _Prompt:
        units: list[Unit] = list(self._tokenize_text(text, add_special=True))
        return _Prompt(units, {})

    def _tokenize_multimodal(self, text: str, images: Sequence[ImagePart]) -> _Prompt:
        """The prompt as mtmd would tokenize it, with each image prepared only once.

        Like ``mtmd_tokenize``: the text between markers is tokenized on its
        own without special tokens, BOS (and EOS) are added around the whole.
        """
        assert self._prepared is not None
        units: list[Unit] = []
        image_chunks: dict[int, Any] = {}
        if llama_cpp.llama_vocab_get_add_bos(self._vocab):
            units.append(llama_cpp.llama_vocab_bos(self._vocab))
        for i, segment in enumerate(text.split(MEDIA_MARKER)):
            units.extend(self._tokenize_text(segment, add_special=False) if segment else ())
            if i < len(images):
                prepared = self._prepared.get(images[i])
                image_chunks.update({len(units) + k: c for k, c in prepared.chunks.items()})
                units.extend(prepared.units)
        if llama_cpp.llama_vocab_get_add_eos(self._vocab):
            units.append(llama_cpp.llama_vocab_eos(self._vocab))
        self._prepared.trim(image.digest for image in images)
        return _Prompt(units, image_chunks)

    # -- evaluation -----------------------------------------------------------

    def _drop_cache_from(self, keep: int) -> int:
        """Forget cached units after ``keep``; returns how many could be kept."""
        memory = llama_cpp.llama_get_memory(self._ctx)
        kept_pos = n_positions(self._cached[:keep])
        if not llama_cpp.llama_memory_seq_rm(memory, _SEQ, kept_pos, -1):
            llama_cpp.llama_memory_clear(memory, True)
            keep, kept_pos = 0, 0
        del self._cached[keep:]
        self._n_past = kept_pos
        return keep

    def _decode_tokens(self, tokens: Sequence[int], logits_last: bool) -> None:
        batch = self._llm._batch
        for start in range(0, len(tokens), self._n_batch):
            part = tokens[start : start + self._n_batch]
            batch.set_batch(part, self._n_past, logits_all=False)
            is_last = start + self._n_batch >= len(tokens)
            batch.batch.logits[len(part) - 1] = logits_last and is_last
            status = llama_cpp.llama_decode(self._ctx, batch.batch)
            if status != 0:
                raise ModelError(f"llama.cpp failed to evaluate the prompt (decode error {status})")
            self._cached.extend(part)
            self._n_past += len(part)

    def _decode_image(self, chunk: Any, unit: ImageUnit) -> None:
        new_n_past = llama_cpp.llama_pos(0)
        status = mtmd_cpp.mtmd_helper_eval_chunk_single(
            self._mtmd,
            self._ctx,
            chunk,
            self._n_past,
            _SEQ,
            self._n_batch,
            False,
            ctypes.byref(new_n_past),
        )
        if status != 0:
            raise ModelError(f"llama.cpp failed to encode an image (error {status})")
        self.stats.image_encodes += 1
        self._cached.append(unit)
        self._n_past = new_n_past.value

    def _evaluate(
        self, prompt: _Prompt, start: int, cancel: threading.Event | None
    ) -> Generator[Progress, None, bool]:
        """Evaluate ``prompt.units[start:]``, saying as each image starts; False if cancelled.

        Images are counted, not chunks: LLaVA 1.6 or MiniCPM-V cut one
        picture into several chunks, and a person counts pictures.
        """
        units = prompt.units
        digests = [u.digest for u in units[start:] if isinstance(u, ImageUnit)]
        total = len(dict.fromkeys(digests))
        encoded: list[str] = []
        i = start
        while i < len(units):
            if cancel is not None and cancel.is_set():
                return False
            unit = units[i]
            if isinstance(unit, ImageUnit):
                if not encoded or encoded[-1] != unit.digest:
                    encoded.append(unit.digest)
                    yield Progress("encoding image", len(encoded), total)
                self._decode_image(prompt.image_chunks[i], unit)
                i += 1
                continue
            j = i
            while j < len(units) and isinstance(units[j], int) and j - i < self._n_batch:
                j += 1
            tokens = [u for u in units[i:j] if isinstance(u, int)]
            self._decode_tokens(tokens, logits_last=j == len(units))
            self.stats.prompt_tokens_evaluated += len(tokens)
            i = j
        return True

    def _sampler(self, params: GenParams) -> Any:
        chain = llama_cpp.llama_sampler_chain_init(llama_cpp.llama_sampler_chain_default_params())
        if params.json_fields:
            grammar = object_grammar(params.json_fields).encode()
            llama_cpp.llama_sampler_chain_add(
                chain, llama_cpp.llama_sampler_init_grammar(self._vocab, grammar, b"root")
            )
        if params.temperature <= 0:
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_greedy())
        else:
            llama_cpp.llama_sampler_chain_add(
                chain, llama_cpp.llama_sampler_init_top_p(params.top_p, 1)
            )
            llama_cpp.llama_sampler_chain_add(
                chain, llama_cpp.llama_sampler_init_temp(params.temperature)
            )
            llama_cpp.llama_sampler_chain_add(chain, llama_cpp.llama_sampler_init_dist(params.seed))
        return chain

    # -- the protocol ---------------------------------------------------------

    def stream(
        self,
        messages: Sequence[Message],
        params: GenParams,
        cancel: threading.Event | None = None,
    ) -> Iterator[Event]:
        if not self._lock.acquire(blocking=False):
            raise ModelError(f"{self._capabilities.name} is busy answering another question")
        try:
            yield from self._stream_locked(messages, params, cancel)
        finally:
            self._lock.release()

    def _stream_locked(
        self, messages: Sequence[Message], params: GenParams, cancel: threading.Event | None
    ) -> Iterator[Event]:
        if self._closed:
            raise ModelError(f"{self._capabilities.name} has been closed")
        relay = StreamRelay(self._capabilities, messages, cancel)
        prompt = self._tokenize(messages)
        try:
            yield from self._prefill_and_generate(prompt, params, relay)
        except BaseException:
            self._resync()
            raise

    # -- other conversations' saved states ------------------------------------

    def _switch(self, prompt: _Prompt, keep_cached: int, reused: int) -> bool:
        """Leave the live conversation for a saved one that fits ``prompt`` better.

        The live one is saved first when the new prompt would throw most of
        it away (another conversation, not an edit or a regenerate, which
        keep most of it). True when a saved state was restored.
        """
        assert self._states is not None
        shared = n_tokens(prompt.units[:reused])
        found = self._states.best(prompt.units, self._piece_cached, better_than=shared)
        if keep_cached * 2 < len(self._cached):
            self._save_live()
        if found is None:
            return False
        data = self._states.take(found)
        memory = llama_cpp.llama_get_memory(self._ctx)
        llama_cpp.llama_memory_clear(memory, True)
        self._cached, self._n_past = [], 0
        if data is None:
            return False
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if not llama_cpp.llama_state_seq_set_data(self._ctx, buf, len(data), _SEQ):
            _log.info("a saved conversation state did not fit this model; evaluating afresh")
            if found.path is not None:
                self._states.discard_file(found.path)
            llama_cpp.llama_memory_clear(memory, True)
            return False
        self._cached, self._n_past = list(found.units), found.n_past
        self.stats.state_restores += 1
        return True

    def _save_live(self) -> None:
        """Copy the live conversation's KV state out, if it is worth keeping."""
        assert self._states is not None
        if n_tokens(self._cached) < _MIN_SAVED_TOKENS:
            return
        size = llama_cpp.llama_state_seq_get_size(self._ctx, _SEQ)
        buf = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self._ctx, buf, size, _SEQ)
        if written:
            self._states.add(self._cached, self._n_past, ctypes.string_at(buf, written))

    def _resync(self) -> None:
        """After an interruption inside llama.cpp, make the KV cache match ``_cached`` again."""
        memory = llama_cpp.llama_get_memory(self._ctx)
        if not llama_cpp.llama_memory_seq_rm(memory, _SEQ, self._n_past, -1):
            llama_cpp.llama_memory_clear(memory, True)
            self._cached.clear()
            self._n_past = 0

    def _prefill_and_generate(
        self, prompt: _Prompt, params: GenParams, relay: StreamRelay
    ) -> Iterator[Event]:
        # The context holds KV cells, one per token: with M-RoPE (Qwen2-VL) an image
        # takes far fewer positions than cells, so positions would pass a prompt
        # that cannot fit.
        needed = n_tokens(prompt.units)
        if needed >= self._n_ctx:
            raise ContextOverflowError(
                f"the conversation needs {needed:,} tokens but {self._capabilities.name} "
                f"has a context of {self._n_ctx:,} — start a new conversation, send fewer "
                "images or pages, or raise the context size"
            )
        keep_cached, reused = respelled_prefix(self._cached, prompt.units, self._piece_cached)
        if self._states is not None and self._switch(prompt, keep_cached, reused):
            keep_cached, reused = respelled_prefix(self._cached, prompt.units, self._piece_cached)
        kept = n_tokens(self._cached[:keep_cached])
        if kept + n_tokens(prompt.units[reused:]) >= self._n_ctx:
            keep_cached = reused = reusable_prefix(self._cached, prompt.units)
        if self._drop_cache_from(keep_cached) < keep_cached:
            reused = 0
        usage = Usage(
            prompt_tokens=n_tokens(prompt.units),
            cached_tokens=n_tokens(prompt.units[:reused]),
        )
        if not (yield from self._evaluate(prompt, reused, relay.cancel)):
            usage.finish_reason = "cancelled"
            yield usage
            return
        yield from relay.run(
            self._generate(params, usage),
            usage,
            who=self._capabilities.name,
            broke=_generation_failed,
        )

    def _generate(self, params: GenParams, usage: Usage) -> Pieces:
        """Each sampled token's text ("" while it may start a stop string), then the end."""
        sampler = self._sampler(params)
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        stops = _StopMatcher(params.stop)
        batch = self._llm._batch
        cells = n_tokens(self._cached)
        end: Literal["stop", "length"] = "length"
        try:
            for _ in range(params.max_tokens):
                if cells >= self._n_ctx:
                    break
                token = llama_cpp.llama_sampler_sample(sampler, self._ctx, -1)
                if llama_cpp.llama_vocab_is_eog(self._vocab, token):
                    end = "stop"
                    break
                usage.completion_tokens += 1
                # The caller sees each token before the model digests it: the decode
                # that prepares the next token's logits is not the reader's wait.
                text, stopped = stops.feed(decoder.decode(self._piece_bytes(token)))
                yield text
                batch.set_batch([token], self._n_past, logits_all=True)
                status = llama_cpp.llama_decode(self._ctx, batch.batch)
                if status != 0:
                    raise ModelError(f"llama.cpp failed while generating (decode error {status})")
                self._cached.append(token)
                self._n_past += 1
                cells += 1
                if stopped:
                    end = "stop"
                    break
            tail = stops.flush(decoder.decode(b"", final=True))
            if tail:
                yield tail
            yield Finished(end)
        finally:
            llama_cpp.llama_sampler_free(sampler)


def _generation_failed(exc: Exception, _tokens: int) -> str | None:
    """A decode that fails once the answer has started ends it; what was said is kept."""
    return str(exc) if isinstance(exc, ModelError) else None


class _StopMatcher:
    """Holds back text that may be the start of a stop string, so none of it is shown."""

    def __init__(self, stops: Sequence[str]) -> None:
        self._stops = [s for s in stops if s]
        self._held = ""

    def feed(self, text: str) -> tuple[str, bool]:
        if not self._stops:
            return text, False
        buf = self._held + text
        for stop in self._stops:
            at = buf.find(stop)
            if at >= 0:
                self._held = ""
                return buf[:at], True
        hold = 0
        for stop in self._stops:
            for k in range(min(len(stop) - 1, len(buf)), 0, -1):
                if buf.endswith(stop[:k]):
                    hold = max(hold, k)
                    break
        self._held = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold], False

    def flush(self, text: str) -> str:
        out = self._held + text
        self._held = ""
        return out
