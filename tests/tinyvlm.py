"""Write tiny random-weight vision-language models that llama.cpp really loads and runs.

The suite never downloads a model: it writes a LLaVA-style pair (a ``llama``
text model and a ``clip`` projector with an MLP head) with the ``gguf``
package, in several shapes, so no code can quietly depend on one embedding
size, vocabulary style, chat template or image size.

Random weights sample garbage, so one hidden dimension is reserved as a
constant "bias channel": it is constant in every token embedding and in the
projector's output, and no layer writes to it, so after the final norm it is
a positive constant and the matching column of ``output.weight`` becomes a
per-token logit bias. That keeps control tokens and bytes that are not
printable ASCII out of every answer (decodable, deterministic output), and
lets one variant favour end-of-sequence so every answer is empty.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import gguf
import numpy as np

LLAVA_TEMPLATE = (
    "{{ bos_token }}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}{{ message['content'] }}\n\n"
    "{% elif message['role'] == 'user' %}USER: {{ message['content'] }}\n"
    "{% else %}ASSISTANT: {{ message['content'] }}{{ eos_token }}\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}ASSISTANT:{% endif %}"
)

CHATML_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "{% for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n{{ message['content'] }}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

_WORD_TEXT = """
the a an of and in on with is are this that image photo picture shows red green blue white
black small large cat dog tree sky road car text table chart page left right top bottom light
dark USER ASSISTANT system user assistant
"""
WORDS = tuple(_WORD_TEXT.split())


@dataclass(frozen=True)
class VlmSpec:
    name: str
    seed: int = 0
    n_embd: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 4
    n_ff: int = 128
    context_length: int = 4096
    vocab: str = "spm"  # "spm" (SentencePiece-style, arch llama) or "bpe" (GPT-2 byte-level)
    template: str = LLAVA_TEMPLATE
    image_size: int = 56
    patch_size: int = 14
    v_embd: int = 32
    v_ff: int = 64
    v_layers: int = 2
    v_heads: int = 2
    class_embedding: bool = False
    always_empty: bool = False
    text_only: bool = False
    weight_scale: float = 0.08
    grid_pinpoints: tuple[int, ...] = ()
    """LLaVA-1.6 ("anyres"): candidate (width, height) pairs, flattened; empty for LLaVA-1.5."""

    @property
    def image_tokens(self) -> int:
        return (self.image_size // self.patch_size) ** 2


SPEC_A = VlmSpec(name="tiny-llava-a")
SPEC_B = VlmSpec(
    name="tiny-chatml-b",
    seed=1,
    n_embd=96,
    n_heads=6,
    n_kv_heads=2,
    n_ff=192,
    vocab="bpe",
    template=CHATML_TEMPLATE,
    image_size=84,
    v_embd=48,
    v_ff=96,
    v_layers=3,
    v_heads=4,
    class_embedding=True,
)
SPEC_EMPTY = replace(SPEC_A, name="tiny-empty", seed=2, always_empty=True)
SPEC_TEXT_ONLY = replace(SPEC_A, name="tiny-text-only", seed=3, text_only=True)
SPEC_BENCH = VlmSpec(
    name="bench-vlm",
    seed=4,
    n_embd=512,
    n_layers=6,
    n_heads=8,
    n_kv_heads=8,
    n_ff=1536,
    image_size=336,
    v_embd=256,
    v_ff=512,
    v_layers=3,
    v_heads=4,
    weight_scale=0.03,
)
"""576 image tokens, like LLaVA-1.5, and a text model big enough that compute dominates."""


# -- vocabularies -------------------------------------------------------------


def gpt2_byte_symbols() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values, in byte order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    mapping: dict[int, str] = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return [mapping[b] for b in range(256)]


@dataclass
class Vocab:
    tokens: list[str]
    types: list[int]
    bias: np.ndarray
    scores: list[float] | None = None
    merges: list[str] | None = None
    special: dict[str, int] | None = None


NORMAL, UNKNOWN, CONTROL, BYTE = 1, 2, 3, 6
BAN, WORD_BONUS = -60.0, 1.5


def printable(b: int) -> bool:
    return 0x20 <= b < 0x7F


def spm_vocab() -> Vocab:
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [UNKNOWN, CONTROL, CONTROL] + [BYTE] * 256
    bias = [BAN, BAN, BAN] + [0.0 if printable(b) else BAN for b in range(256)]
    pieces: list[str] = []
    for word in WORDS:
        for piece in (f"\u2581{word}", word):
            # SentencePiece merging only reaches a piece whose every prefix is a token.
            for k in range(1, len(piece) + 1):
                if piece[:k] not in pieces and len(piece[:k]) > 1:
                    pieces.append(piece[:k])
    if "\u2581" not in pieces:
        pieces.insert(0, "\u2581")
    for piece in pieces:
        tokens.append(piece)
        types.append(NORMAL)
        bias.append(WORD_BONUS if piece.startswith("\u2581") and len(piece) > 3 else 0.0)
    # A higher score merges first, so longer pieces win.
    scores = [0.0] * 3 + [-1000.0] * 256 + [float(len(p)) for p in pieces]
    return Vocab(
        tokens,
        types,
        np.array(bias, np.float32),
        scores=scores,
        special={"bos": 1, "eos": 2, "unk": 0},
    )


def bpe_vocab(*, chatml: bool = True) -> Vocab:
    """GPT-2 byte-level BPE; ``chatml=False`` keeps GPT-2's one special token, as codegen and
    phi-2 do (``<|endoftext|>`` is BOS, EOS and UNK at once), instead of ChatML's three."""
    symbols = gpt2_byte_symbols()
    tokens = list(symbols)
    types = [NORMAL] * 256
    bias = [0.0 if printable(b) and b != 0x0A else BAN for b in range(256)]
    bias[0x20] = BAN  # a bare space token would only pad answers; words carry their spaces
    merges: list[str] = []
    space = symbols[0x20]
    for word in WORDS:
        for spelled in (space + word, word):
            current = spelled[0]
            for ch in spelled[1:]:
                merged = current + ch
                if merged not in tokens:
                    merges.append(f"{current} {ch}")
                    tokens.append(merged)
                    types.append(NORMAL)
                    bias.append(WORD_BONUS if merged.startswith(space) and len(merged) > 3 else 0.0)
                current = merged
    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"] if chatml else ["<|endoftext|>"]
    ids = {}
    for s in specials:
        ids[s] = len(tokens)
        tokens.append(s)
        types.append(CONTROL)
        bias.append(BAN)
    end = ids["<|endoftext|>"]
    special = {"bos": end, "eos": end, "unk": end}
    if chatml:
        special = {"bos": end, "eos": ids["<|im_end|>"], "eot": ids["<|im_end|>"], "pad": end}
    return Vocab(tokens, types, np.array(bias, np.float32), merges=merges, special=special)


# -- writers ------------------------------------------------------------------


def random_normal(rng: np.random.Generator, shape: tuple[int, ...], scale: float) -> np.ndarray:
    return rng.normal(0.0, scale, shape).astype(np.float32)


def _write_text_model(spec: VlmSpec, path: Path, rng: np.random.Generator) -> None:
    vocab = spm_vocab() if spec.vocab == "spm" else bpe_vocab()
    n, head_dim = spec.n_embd, spec.n_embd // spec.n_heads
    n_kv = spec.n_kv_heads * head_dim
    channel = n - 1
    s = spec.weight_scale
    w = gguf.GGUFWriter(str(path), "llama")
    w.add_name(spec.name)
    w.add_context_length(spec.context_length)
    w.add_embedding_length(n)
    w.add_block_count(spec.n_layers)
    w.add_feed_forward_length(spec.n_ff)
    w.add_head_count(spec.n_heads)
    w.add_head_count_kv(spec.n_kv_heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_dimension_count(head_dim)
    w.add_rope_freq_base(10000.0)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    special = vocab.special or {}
    if spec.vocab == "spm":
        w.add_tokenizer_model("llama")
        w.add_add_bos_token(True)
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre("qwen2")
        w.add_token_merges(vocab.merges or [])
        w.add_add_bos_token(False)
        w.add_eot_token_id(special["eot"])
        w.add_pad_token_id(special["pad"])
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    if vocab.scores is not None:
        w.add_token_scores(vocab.scores)
        w.add_unk_token_id(special["unk"])
    w.add_bos_token_id(special["bos"])
    w.add_eos_token_id(special["eos"])
    w.add_chat_template(spec.template)

    n_vocab = len(vocab.tokens)
    embd = random_normal(rng, (n_vocab, n), 0.5)
    embd[:, channel] = 1.0
    bias = vocab.bias.copy()
    if spec.always_empty:
        bias[special["eos"]] = 60.0
    out = random_normal(rng, (n_vocab, n), 0.5)
    out[:, channel] = bias
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(n, np.float32))
    w.add_tensor("output.weight", out)
    for i in range(spec.n_layers):
        w.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(n, np.float32))
        w.add_tensor(f"blk.{i}.attn_q.weight", random_normal(rng, (n, n), s))
        w.add_tensor(f"blk.{i}.attn_k.weight", random_normal(rng, (n_kv, n), s))
        w.add_tensor(f"blk.{i}.attn_v.weight", random_normal(rng, (n_kv, n), s))
        attn_out = random_normal(rng, (n, n), s)
        attn_out[channel, :] = 0.0
        w.add_tensor(f"blk.{i}.attn_output.weight", attn_out)
        w.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(n, np.float32))
        w.add_tensor(f"blk.{i}.ffn_gate.weight", random_normal(rng, (spec.n_ff, n), s))
        w.add_tensor(f"blk.{i}.ffn_up.weight", random_normal(rng, (spec.n_ff, n), s))
        down = random_normal(rng, (n, spec.n_ff), s)
        down[channel, :] = 0.0
        w.add_tensor(f"blk.{i}.ffn_down.weight", down)
    finish_gguf(w)


def _write_projector(
    spec: VlmSpec, path: Path, rng: np.random.Generator, projection_dim: int
) -> None:
    v, p, s = spec.v_embd, spec.patch_size, spec.weight_scale
    n_pos = spec.image_tokens + (1 if spec.class_embedding else 0)
    w = gguf.GGUFWriter(str(path), "clip")
    w.add_name(f"mmproj-{spec.name}")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_llava_projector", True)
    w.add_string("clip.projector_type", "mlp")
    w.add_bool("clip.use_gelu", False)
    w.add_uint32("clip.vision.image_size", spec.image_size)
    w.add_uint32("clip.vision.patch_size", p)
    w.add_uint32("clip.vision.embedding_length", v)
    w.add_uint32("clip.vision.feed_forward_length", spec.v_ff)
    w.add_uint32("clip.vision.projection_dim", projection_dim)
    w.add_uint32("clip.vision.block_count", spec.v_layers)
    w.add_uint32("clip.vision.attention.head_count", spec.v_heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-5)
    w.add_array("clip.vision.image_mean", [0.48145466, 0.4578275, 0.40821073])
    w.add_array("clip.vision.image_std", [0.26862954, 0.26130258, 0.27577711])
    if spec.grid_pinpoints:
        # Slices of the pinpoint grid go to mtmd as an overview plus one entry per slice.
        w.add_array("clip.vision.image_grid_pinpoints", list(spec.grid_pinpoints))
        w.add_string("clip.vision.mm_patch_merge_type", "spatial_unpad")
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tensor("v.patch_embd.weight", random_normal(rng, (v, 3, p, p), s))
    w.add_tensor("v.patch_embd.bias", np.zeros(v, np.float32))
    if spec.class_embedding:
        w.add_tensor("v.class_embd", random_normal(rng, (v,), s))
    w.add_tensor("v.position_embd.weight", random_normal(rng, (n_pos, v), s))
    w.add_tensor("v.pre_ln.weight", np.ones(v, np.float32))
    w.add_tensor("v.pre_ln.bias", np.zeros(v, np.float32))
    for i in range(spec.v_layers):
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(f"v.blk.{i}.{name}.weight", random_normal(rng, (v, v), s))
            w.add_tensor(f"v.blk.{i}.{name}.bias", np.zeros(v, np.float32))
        for name in ("ln1", "ln2"):
            w.add_tensor(f"v.blk.{i}.{name}.weight", np.ones(v, np.float32))
            w.add_tensor(f"v.blk.{i}.{name}.bias", np.zeros(v, np.float32))
        w.add_tensor(f"v.blk.{i}.ffn_up.weight", random_normal(rng, (spec.v_ff, v), s))
        w.add_tensor(f"v.blk.{i}.ffn_up.bias", np.zeros(spec.v_ff, np.float32))
        w.add_tensor(f"v.blk.{i}.ffn_down.weight", random_normal(rng, (v, spec.v_ff), s))
        w.add_tensor(f"v.blk.{i}.ffn_down.bias", np.zeros(v, np.float32))
    channel = projection_dim - 1
    w.add_tensor("mm.0.weight", random_normal(rng, (projection_dim, v), s))
    w.add_tensor("mm.0.bias", np.zeros(projection_dim, np.float32))
    mm2 = random_normal(rng, (projection_dim, projection_dim), s)
    mm2[channel, :] = 0.0
    mm2_bias = np.zeros(projection_dim, np.float32)
    mm2_bias[channel] = 1.0
    w.add_tensor("mm.2.weight", mm2)
    w.add_tensor("mm.2.bias", mm2_bias)
    if spec.grid_pinpoints:
        w.add_tensor("v.image_newline", np.zeros(projection_dim, np.float32))
    finish_gguf(w)


def finish_gguf(w: gguf.GGUFWriter) -> None:
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def write_vlm(spec: VlmSpec, directory: Path) -> tuple[Path, Path | None]:
    """Write ``<name>.gguf`` (and ``mmproj-<name>.gguf`` unless text-only) into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    model = directory / f"{spec.name}.gguf"
    _write_text_model(spec, model, rng)
    if spec.text_only:
        return model, None
    mmproj = directory / f"mmproj-{spec.name}.gguf"
    _write_projector(spec, mmproj, rng, spec.n_embd)
    return model, mmproj


# -- broken files for error paths -------------------------------------------------


def write_mismatched_mmproj(spec: VlmSpec, directory: Path) -> Path:
    """A projector whose output size is not the text model's embedding size."""
    path = directory / f"mmproj-mismatched-{spec.name}.gguf"
    _write_projector(spec, path, np.random.default_rng(spec.seed), spec.n_embd + 32)
    return path


def write_truncated_copy(source: Path, dest: Path, keep: float = 0.6) -> Path:
    data = source.read_bytes()
    dest.write_bytes(data[: int(len(data) * keep)])
    return dest


def write_not_gguf(dest: Path) -> Path:
    """A JPEG's first bytes under a .gguf name: what a mis-saved download looks like."""
    dest.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4)
    return dest
