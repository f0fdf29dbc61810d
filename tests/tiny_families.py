"""Tiny random-weight pairs of every model family the catalog offers.

``tests/tinyvlm.py`` writes LLaVA-1.5-shaped pairs; the catalog also offers
Qwen2.5-VL, Gemma 3, SmolVLM2, LLaVA 1.6, MiniCPM-V 2.6 and Moondream2, whose
text architectures, projectors, vocabularies and chat templates differ in
exactly the ways that break an engine: M-RoPE positions that are not token
counts, non-causal image attention, images split into several chunks with text
between them, templates that iterate typed content parts, vocabularies that
add no BOS, a GGUF that carries no template at all. Each pair here is built
from the keys and tensor shapes llama.cpp's own loaders read
(``src/llama-model.cpp``, ``src/models/*.cpp``, ``tools/mtmd/clip.cpp``,
``clip-impl.h``, ``mtmd.cpp`` of the llama.cpp that llama-cpp-python 0.3.36
vendors), carries its family's real chat template (or, like Moondream2's file,
none) and the special tokens that template and mtmd use, and keeps tinyvlm's
bias channel so answers are deterministic printable text. Each is a few MB of
F32 and takes about a second.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import gguf
import numpy as np

from tests.tinyvlm import (
    BAN,
    CONTROL,
    NORMAL,
    SPEC_A,
    VlmSpec,
    Vocab,
    bpe_vocab,
    finish_gguf,
    gpt2_byte_symbols,
    random_normal,
    spm_vocab,
    write_vlm,
)

USER_DEFINED = 4

# -- the families' own chat templates (tokenizer.chat_template of their GGUFs) --

QWEN25_VL_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

GEMMA3_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- if messages[0]['content'] is string -%}
        {%- set first_user_prefix = messages[0]['content'] + '

' -%}
    {%- else -%}
        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '

' -%}
    {%- endif -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/assistant/...") }}
    {%- endif -%}
    {%- if (message['role'] == 'assistant') -%}
        {%- set role = "model" -%}
    {%- else -%}
        {%- set role = message['role'] -%}
    {%- endif -%}
    {{ '<start_of_turn>' + role + '
' + (first_user_prefix if loop.first else "") }}
    {%- if message['content'] is string -%}
        {{ message['content'] | trim }}
    {%- elif message['content'] is iterable -%}
        {%- for item in message['content'] -%}
            {%- if item['type'] == 'image' -%}
                {{ '<start_of_image>' }}
            {%- elif item['type'] == 'text' -%}
                {{ item['text'] | trim }}
            {%- endif -%}
        {%- endfor -%}
    {%- else -%}
        {{ raise_exception("Invalid content type") }}
    {%- endif -%}
    {{ '<end_of_turn>
' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{'<start_of_turn>model
'}}
{%- endif -%}
"""

SMOLVLM2_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}"
)
"""Iterates ``message['content']`` as typed parts: a plain string renders as nothing."""

MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{% endif %}{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}"
    "{% else %}{{ raise_exception('Only user and assistant roles are supported!') }}"
    "{% endif %}{% endfor %}"
)
"""LLaVA 1.6 Mistral's template: ``[INST]`` is plain text, not a special token."""

MINICPMV26_TEMPLATE = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
SIGLIP_MEAN = (0.5, 0.5, 0.5)
SIGLIP_STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class FamilySpec:
    """One family's tiny pair: text architecture, projector, vocabulary and template."""

    family: str
    name: str
    text_arch: str
    projector: str
    template: str | None
    """The GGUF's ``tokenizer.chat_template``; None where the family's GGUF carries none."""
    seed: int = 10
    n_embd: int = 64
    n_layers: int = 2
    n_heads: int = 4
    n_kv_heads: int = 2
    head_dim: int = 16
    rope_dims: int = 0
    """Rotated dimensions per head (``rope.dimension_count``); 0 rotates the whole head."""
    n_ff: int = 128
    context_length: int = 4096
    rope_sections: tuple[int, ...] = ()
    sliding_window: int = 0
    image_size: int = 56
    patch_size: int = 14
    v_embd: int = 32
    v_ff: int = 64
    v_layers: int = 2
    v_heads: int = 2
    weight_scale: float = 0.08
    extra: dict[str, int] = field(default_factory=dict)
    """Projector numbers of the family (merge sizes, query counts, tile sizes)."""


QWEN25_VL = FamilySpec(
    family="qwen2.5-vl",
    name="tiny-qwen2.5-vl",
    text_arch="qwen2vl",
    projector="qwen2.5vl_merger",
    template=QWEN25_VL_TEMPLATE,
    seed=11,
    rope_sections=(2, 3, 3, 0),  # sums to head_dim / 2, like Qwen2.5-VL's (16, 24, 24, 0)
    image_size=112,
    extra={"spatial_merge_size": 2, "n_wa_pattern": 2},
)
"""M-RoPE: an image takes far fewer positions than KV cells; 28 px per image token."""

QWEN25_VL_BENCH = replace(
    QWEN25_VL,
    name="bench-qwen2.5-vl",
    seed=12,
    n_embd=512,
    n_layers=6,
    n_heads=8,
    n_kv_heads=8,
    head_dim=64,
    n_ff=1536,
    rope_sections=(8, 12, 12, 0),
    v_embd=256,
    v_ff=512,
    v_layers=3,
    v_heads=4,
    weight_scale=0.03,
)
"""Same shape as tinyvlm's SPEC_BENCH text model; an image of BENCH_IMAGE_SIDE² gives 576 tokens."""

BENCH_IMAGE_SIDE = 672
"""Qwen2.5-VL makes one token per 28x28 px: 672 px square is 24x24 = 576 tokens."""

GEMMA3 = FamilySpec(
    family="gemma3",
    name="tiny-gemma3",
    text_arch="gemma3",
    projector="gemma3",
    template=GEMMA3_TEMPLATE,
    seed=13,
    head_dim=32,  # key_length / value_length, not n_embd / n_head
    sliding_window=512,
    image_size=224,  # 16x16 patches, 4x4 average pool: 16 image tokens
)

SMOLVLM2 = FamilySpec(
    family="smolvlm2",
    name="tiny-smolvlm2",
    text_arch="llama",
    projector="idefics3",
    template=SMOLVLM2_TEMPLATE,
    seed=14,
    n_kv_heads=4,
    image_size=112,  # one tile: 8x8 patches, pixel shuffle by 2: 16 tokens
    extra={"scale_factor": 2, "preproc_image_size": 224},  # up to 2x2 tiles + global image
)

LLAVA_16 = VlmSpec(
    name="tiny-llava-1.6",
    seed=15,
    template=MISTRAL_TEMPLATE,
    class_embedding=True,
    grid_pinpoints=(56, 112, 112, 56, 112, 112, 168, 56, 56, 168),  # LLaVA 1.6's grid / 6
)

MINICPMV26 = FamilySpec(
    family="minicpm-v-2.6",
    name="tiny-minicpm-v-2.6",
    text_arch="qwen2",
    projector="resampler",
    template=MINICPMV26_TEMPLATE,
    seed=16,
    n_embd=128,  # the resampler's attention head size is fixed at 128 in clip.cpp
    n_heads=2,
    head_dim=64,
    n_ff=256,
    image_size=56,  # slice size; larger images become an overview plus slices
    extra={"minicpmv_version": 3, "query_num": 16},
)

MOONDREAM2 = FamilySpec(
    family="moondream2",
    name="tiny-moondream2",
    text_arch="phi2",
    projector="mlp",
    # vikhyatk's moondream2-text-model-f16.gguf carries no tokenizer.chat_template, so
    # none is written here either: the engine then prompts with its LLaVA-1.5 template.
    template=None,
    seed=17,
    n_kv_heads=4,  # phi-2 has no grouped-query attention
    rope_dims=8,  # partial rotary: Moondream2 rotates 32 of each head's 64 dimensions
    n_ff=256,  # phi-2's converter writes 4 x n_embd
    context_length=2048,
    image_size=70,  # 5x5 patches: 25 image tokens, an odd grid like Moondream2's 27x27
    v_layers=3,
    extra={"mm_hidden": 128},
)
"""phi2 text model (parallel attention and MLP, LayerNorm with biases, fused QKV, output
bias), GPT-2 vocabulary whose one special token is BOS and EOS, SigLIP tower, LLaVA MLP."""

MOONDREAM2_CT_VICUNA = replace(MOONDREAM2, name="tiny-moondream2-ct-vicuna", template="vicuna")
"""The catalog's text file (ggml-org's ``..._ct-vicuna.gguf``) sets ``tokenizer.chat_template``
to ``vicuna``: the name of one of llama.cpp's built-in templates, not Jinja."""

FAMILIES: dict[str, FamilySpec | VlmSpec] = {
    "llava-1.5": SPEC_A,
    "llava-1.6": LLAVA_16,
    "qwen2.5-vl": QWEN25_VL,
    "gemma3": GEMMA3,
    "smolvlm2": SMOLVLM2,
    "minicpm-v-2.6": MINICPMV26,
    "moondream2": MOONDREAM2,
}
"""Every family the catalog offers, by name; LLaVA 1.5 is tinyvlm's own SPEC_A."""


# -- vocabularies ---------------------------------------------------------------


def _with_tokens(vocab: Vocab, names: list[str], kind: int = CONTROL) -> dict[str, int]:
    """Append special tokens (never sampled); returns their ids."""
    ids: dict[str, int] = {}
    for name in names:
        ids[name] = len(vocab.tokens)
        vocab.tokens.append(name)
        vocab.types.append(kind)
        if vocab.scores is not None:
            vocab.scores.append(0.0)
    vocab.bias = np.concatenate([vocab.bias, np.full(len(names), BAN, np.float32)])
    return ids


def _ids(vocab: Vocab) -> dict[str, int]:
    return {t: i for i, t in enumerate(vocab.tokens)}


def _qwen_vocab(extra: list[str], kind: int = CONTROL) -> Vocab:
    vocab = bpe_vocab()
    _with_tokens(vocab, extra, kind)
    return vocab


def _smollm_vocab() -> Vocab:
    """SmolLM's BPE: BOS ``<|im_start|>``, EOS ``<end_of_utterance>``; mtmd needs a ``\\n\\n``."""
    vocab = bpe_vocab()
    newline = gpt2_byte_symbols()[0x0A]
    (vocab.merges or []).append(f"{newline} {newline}")
    _with_tokens(vocab, [newline * 2], NORMAL)
    rows = [f"<row_{r}_col_{c}>" for r in range(1, 7) for c in range(1, 7)]
    _with_tokens(
        vocab, ["<end_of_utterance>", "<fake_token_around_image>", "<image>", "<global-img>", *rows]
    )
    ids = _ids(vocab)
    vocab.special = {
        "bos": ids["<|im_start|>"],
        "eos": ids["<end_of_utterance>"],
        "pad": ids["<|endoftext|>"],
    }
    return vocab


def _gemma_vocab() -> Vocab:
    """SentencePiece without a space prefix, plus Gemma's turn and image tokens."""
    vocab = spm_vocab()
    ids = _with_tokens(
        vocab, ["<start_of_turn>", "<end_of_turn>", "<start_of_image>", "<end_of_image>"]
    )
    vocab.special = {**(vocab.special or {}), "eot": ids["<end_of_turn>"]}
    return vocab


def _vocab(spec: FamilySpec) -> tuple[Vocab, str | None]:
    """The family's vocabulary and its BPE pre-tokenizer (None for SentencePiece)."""
    if spec.family == "qwen2.5-vl":
        specials = ["<|vision_start|>", "<|vision_end|>", "<|image_pad|>", "<|video_pad|>"]
        return _qwen_vocab(specials), "qwen2"
    if spec.family == "minicpm-v-2.6":
        return _qwen_vocab(["<image>", "</image>", "<slice>", "</slice>"], USER_DEFINED), "qwen2"
    if spec.family == "smolvlm2":
        return _smollm_vocab(), "smollm"
    if spec.family == "gemma3":
        return _gemma_vocab(), None
    if spec.family == "moondream2":
        return bpe_vocab(chatml=False), "phi-2"  # codegen's GPT-2 BPE
    raise ValueError(f"no vocabulary for {spec.family}")


# -- text models ------------------------------------------------------------------


def _write_text_model(spec: FamilySpec, path: Path, rng: np.random.Generator) -> None:
    if spec.text_arch == "phi2":
        _write_phi2_model(spec, path, rng)
        return
    vocab, pre = _vocab(spec)
    n, hd, s = spec.n_embd, spec.head_dim, spec.weight_scale
    n_q, n_kv = spec.n_heads * hd, spec.n_kv_heads * hd
    channel = n - 1
    w = gguf.GGUFWriter(str(path), spec.text_arch)
    w.add_name(spec.name)
    w.add_context_length(spec.context_length)
    w.add_embedding_length(n)
    w.add_block_count(spec.n_layers)
    w.add_feed_forward_length(spec.n_ff)
    w.add_head_count(spec.n_heads)
    w.add_head_count_kv(spec.n_kv_heads)
    w.add_layer_norm_rms_eps(1e-6)
    w.add_rope_freq_base(1000000.0 if spec.text_arch != "llama" else 10000.0)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if spec.text_arch == "gemma3":
        w.add_key_length(hd)
        w.add_value_length(hd)
        w.add_sliding_window(spec.sliding_window)
    else:
        w.add_rope_dimension_count(hd)
    if spec.rope_sections:
        w.add_rope_dimension_sections(list(spec.rope_sections))

    special = vocab.special or {}
    if pre is None:
        w.add_tokenizer_model("llama")
        w.add_add_bos_token(True)
        w.add_add_space_prefix(False)
        w.add_token_scores(vocab.scores or [])
        w.add_unk_token_id(special["unk"])
    else:
        w.add_tokenizer_model("gpt2")
        w.add_tokenizer_pre(pre)
        w.add_token_merges(vocab.merges or [])
        w.add_add_bos_token(False)
        w.add_pad_token_id(special["pad"])
    if "eot" in special:
        w.add_eot_token_id(special["eot"])
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    w.add_bos_token_id(special["bos"])
    w.add_eos_token_id(special["eos"])
    if spec.template is not None:
        w.add_chat_template(spec.template)

    n_vocab = len(vocab.tokens)
    embd = random_normal(rng, (n_vocab, n), 0.5)
    embd[:, channel] = 1.0
    out = random_normal(rng, (n_vocab, n), 0.5)
    out[:, channel] = vocab.bias
    w.add_tensor("token_embd.weight", embd)
    w.add_tensor("output_norm.weight", np.ones(n, np.float32))
    w.add_tensor("output.weight", out)
    biased = spec.text_arch in ("qwen2", "qwen2vl")
    for i in range(spec.n_layers):
        blk = f"blk.{i}"
        w.add_tensor(f"{blk}.attn_norm.weight", np.ones(n, np.float32))
        for name, rows in (("attn_q", n_q), ("attn_k", n_kv), ("attn_v", n_kv)):
            w.add_tensor(f"{blk}.{name}.weight", random_normal(rng, (rows, n), s))
            if biased:
                w.add_tensor(f"{blk}.{name}.bias", random_normal(rng, (rows,), s))
        attn_out = random_normal(rng, (n, n_q), s)
        attn_out[channel, :] = 0.0  # no layer writes the bias channel
        w.add_tensor(f"{blk}.attn_output.weight", attn_out)
        if spec.text_arch == "gemma3":
            w.add_tensor(f"{blk}.attn_q_norm.weight", np.ones(hd, np.float32))
            w.add_tensor(f"{blk}.attn_k_norm.weight", np.ones(hd, np.float32))
            w.add_tensor(f"{blk}.post_attention_norm.weight", np.ones(n, np.float32))
            w.add_tensor(f"{blk}.post_ffw_norm.weight", np.ones(n, np.float32))
        w.add_tensor(f"{blk}.ffn_norm.weight", np.ones(n, np.float32))
        w.add_tensor(f"{blk}.ffn_gate.weight", random_normal(rng, (spec.n_ff, n), s))
        w.add_tensor(f"{blk}.ffn_up.weight", random_normal(rng, (spec.n_ff, n), s))
        down = random_normal(rng, (n, spec.n_ff), s)
        down[channel, :] = 0.0
        w.add_tensor(f"{blk}.ffn_down.weight", down)
    finish_gguf(w)


def _write_phi2_model(spec: FamilySpec, path: Path, rng: np.random.Generator) -> None:
    """phi-2 as llama.cpp's phi2 loader reads it (``src/models/phi2.cpp``).

    Attention and MLP run in parallel on one LayerNorm's output; every norm and
    projection has a bias; Q, K and V are one fused ``attn_qkv`` (Moondream2's
    file has 245 tensors: 10 per block for 24 blocks, plus 5); the output has a
    bias too. LayerNorm subtracts the mean, so a channel held constant in the
    residual stream would not stay constant: the final norm makes the bias
    channel itself (weight 0, bias 1 there), whatever its input.
    """
    vocab, pre = _vocab(spec)
    special = vocab.special or {}
    n, hd, s = spec.n_embd, spec.head_dim, spec.weight_scale
    n_q, n_kv = spec.n_heads * hd, spec.n_kv_heads * hd
    channel = n - 1
    w = gguf.GGUFWriter(str(path), "phi2")
    w.add_name(spec.name)
    w.add_context_length(spec.context_length)
    w.add_embedding_length(n)
    w.add_block_count(spec.n_layers)
    w.add_feed_forward_length(spec.n_ff)
    w.add_head_count(spec.n_heads)
    w.add_head_count_kv(spec.n_kv_heads)
    w.add_layer_norm_eps(1e-5)
    w.add_rope_dimension_count(spec.rope_dims or hd)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre(pre or "")
    w.add_token_list(vocab.tokens)
    w.add_token_types(vocab.types)
    w.add_token_merges(vocab.merges or [])
    w.add_bos_token_id(special["bos"])
    w.add_eos_token_id(special["eos"])
    w.add_unk_token_id(special["unk"])
    w.add_add_bos_token(False)  # what llama.cpp's phi-2 converter writes
    if spec.template is not None:
        w.add_chat_template(spec.template)

    n_vocab = len(vocab.tokens)
    out = random_normal(rng, (n_vocab, n), 0.5)
    out[:, channel] = vocab.bias
    norm_w, norm_b = np.ones(n, np.float32), np.zeros(n, np.float32)
    norm_w[channel], norm_b[channel] = 0.0, 1.0
    w.add_tensor("token_embd.weight", random_normal(rng, (n_vocab, n), 0.5))
    w.add_tensor("output_norm.weight", norm_w)
    w.add_tensor("output_norm.bias", norm_b)
    w.add_tensor("output.weight", out)
    w.add_tensor("output.bias", random_normal(rng, (n_vocab,), s))
    for i in range(spec.n_layers):
        blk = f"blk.{i}"
        w.add_tensor(f"{blk}.attn_norm.weight", np.ones(n, np.float32))
        w.add_tensor(f"{blk}.attn_norm.bias", np.zeros(n, np.float32))
        w.add_tensor(f"{blk}.attn_qkv.weight", random_normal(rng, (n_q + 2 * n_kv, n), s))
        w.add_tensor(f"{blk}.attn_qkv.bias", random_normal(rng, (n_q + 2 * n_kv,), s))
        w.add_tensor(f"{blk}.attn_output.weight", random_normal(rng, (n, n_q), s))
        w.add_tensor(f"{blk}.attn_output.bias", random_normal(rng, (n,), s))
        w.add_tensor(f"{blk}.ffn_up.weight", random_normal(rng, (spec.n_ff, n), s))
        w.add_tensor(f"{blk}.ffn_up.bias", random_normal(rng, (spec.n_ff,), s))
        w.add_tensor(f"{blk}.ffn_down.weight", random_normal(rng, (n, spec.n_ff), s))
        w.add_tensor(f"{blk}.ffn_down.bias", random_normal(rng, (n,), s))
    finish_gguf(w)


# -- projectors -------------------------------------------------------------------


def _projector_header(
    spec: FamilySpec,
    w: gguf.GGUFWriter,
    projection_dim: int,
    mean_std: tuple[tuple[float, ...], ...],
) -> None:
    w.add_name(f"mmproj-{spec.name}")
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_text_encoder", False)
    w.add_string("clip.projector_type", spec.projector)
    w.add_uint32("clip.vision.image_size", spec.image_size)
    w.add_uint32("clip.vision.patch_size", spec.patch_size)
    w.add_uint32("clip.vision.embedding_length", spec.v_embd)
    w.add_uint32("clip.vision.feed_forward_length", spec.v_ff)
    w.add_uint32("clip.vision.projection_dim", projection_dim)
    w.add_uint32("clip.vision.block_count", spec.v_layers)
    w.add_uint32("clip.vision.attention.head_count", spec.v_heads)
    w.add_float32("clip.vision.attention.layer_norm_epsilon", 1e-6)
    w.add_array("clip.vision.image_mean", list(mean_std[0]))
    w.add_array("clip.vision.image_std", list(mean_std[1]))
    w.add_file_type(gguf.LlamaFileType.ALL_F32)


def _vision_tower(
    spec: FamilySpec, w: gguf.GGUFWriter, rng: np.random.Generator, *, qwen: bool
) -> None:
    """The ViT blocks: SigLIP-style (LayerNorm, GELU) or Qwen2.5-VL's (RMSNorm, SiLU-gated)."""
    v, ff, s = spec.v_embd, spec.v_ff, spec.weight_scale
    zeros = np.zeros
    for i in range(spec.v_layers):
        blk = f"v.blk.{i}"
        for name in ("attn_q", "attn_k", "attn_v", "attn_out"):
            w.add_tensor(f"{blk}.{name}.weight", random_normal(rng, (v, v), s))
            w.add_tensor(f"{blk}.{name}.bias", zeros(v, np.float32))
        for name in ("ln1", "ln2"):
            w.add_tensor(f"{blk}.{name}.weight", np.ones(v, np.float32))
            if not qwen:
                w.add_tensor(f"{blk}.{name}.bias", zeros(v, np.float32))
        w.add_tensor(f"{blk}.ffn_up.weight", random_normal(rng, (ff, v), s))
        w.add_tensor(f"{blk}.ffn_up.bias", zeros(ff, np.float32))
        if qwen:
            w.add_tensor(f"{blk}.ffn_gate.weight", random_normal(rng, (ff, v), s))
            w.add_tensor(f"{blk}.ffn_gate.bias", zeros(ff, np.float32))
        w.add_tensor(f"{blk}.ffn_down.weight", random_normal(rng, (v, ff), s))
        w.add_tensor(f"{blk}.ffn_down.bias", zeros(v, np.float32))


def _siglip_embeddings(
    spec: FamilySpec, w: gguf.GGUFWriter, rng: np.random.Generator, n_pos: int
) -> None:
    v, p, s = spec.v_embd, spec.patch_size, spec.weight_scale
    w.add_tensor("v.patch_embd.weight", random_normal(rng, (v, 3, p, p), s))
    w.add_tensor("v.patch_embd.bias", np.zeros(v, np.float32))
    w.add_tensor("v.position_embd.weight", random_normal(rng, (n_pos, v), s))
    w.add_tensor("v.post_ln.weight", np.ones(v, np.float32))
    w.add_tensor("v.post_ln.bias", np.zeros(v, np.float32))


def _channel_free(matrix: np.ndarray, channel: int, axis: int) -> np.ndarray:
    """Image embeddings leave the bias channel alone, like every text layer does."""
    if axis == 0:
        matrix[channel, :] = 0.0
    else:
        matrix[:, channel] = 0.0
    return matrix


def _write_projector(spec: FamilySpec, path: Path, rng: np.random.Generator) -> None:
    n, v, s = spec.n_embd, spec.v_embd, spec.weight_scale
    channel = n - 1
    w = gguf.GGUFWriter(str(path), "clip")
    if spec.projector == "qwen2.5vl_merger":
        _projector_header(spec, w, n, (CLIP_MEAN, CLIP_STD))
        w.add_bool("clip.use_silu", True)
        w.add_uint32("clip.vision.spatial_merge_size", spec.extra["spatial_merge_size"])
        w.add_uint32("clip.vision.n_wa_pattern", spec.extra["n_wa_pattern"])
        p = spec.patch_size
        # Two patch embeddings (the two frames of Qwen's temporal patch), no bias, no positions.
        w.add_tensor("v.patch_embd.weight", random_normal(rng, (v, 3, p, p), s))
        w.add_tensor("v.patch_embd.weight.1", random_normal(rng, (v, 3, p, p), s))
        _vision_tower(spec, w, rng, qwen=True)
        w.add_tensor("v.post_ln.weight", np.ones(v, np.float32))
        merged = 4 * v  # 2x2 patches per token
        w.add_tensor("mm.0.weight", random_normal(rng, (merged, merged), s))
        w.add_tensor("mm.0.bias", np.zeros(merged, np.float32))
        mm2_bias = np.zeros(n, np.float32)
        mm2_bias[channel] = 1.0
        w.add_tensor("mm.2.weight", _channel_free(random_normal(rng, (n, merged), s), channel, 0))
        w.add_tensor("mm.2.bias", mm2_bias)
    elif spec.projector == "gemma3":
        _projector_header(spec, w, n, (SIGLIP_MEAN, SIGLIP_STD))
        w.add_bool("clip.use_gelu", True)
        _siglip_embeddings(spec, w, rng, (spec.image_size // spec.patch_size) ** 2)
        _vision_tower(spec, w, rng, qwen=False)
        w.add_tensor("mm.soft_emb_norm.weight", np.ones(v, np.float32))
        proj = _channel_free(random_normal(rng, (v, n), 0.3), channel, 1)
        w.add_tensor("mm.input_projection.weight", proj)
    elif spec.projector == "idefics3":
        _projector_header(spec, w, n, (SIGLIP_MEAN, SIGLIP_STD))
        w.add_bool("clip.use_gelu", True)
        w.add_uint32("clip.vision.projector.scale_factor", spec.extra["scale_factor"])
        w.add_uint32("clip.vision.preproc_image_size", spec.extra["preproc_image_size"])
        _siglip_embeddings(spec, w, rng, (spec.image_size // spec.patch_size) ** 2)
        _vision_tower(spec, w, rng, qwen=False)
        shuffled = v * spec.extra["scale_factor"] ** 2
        fc = _channel_free(random_normal(rng, (n, shuffled), 0.3), channel, 0)
        w.add_tensor("mm.model.fc.weight", fc)
    elif spec.projector == "mlp":
        # Moondream2's projector: a SigLIP tower (no class embedding) under LLaVA's MLP head.
        _projector_header(spec, w, n, (SIGLIP_MEAN, SIGLIP_STD))
        w.add_bool("clip.has_llava_projector", True)
        w.add_bool("clip.use_gelu", True)
        _siglip_embeddings(spec, w, rng, (spec.image_size // spec.patch_size) ** 2)
        _vision_tower(spec, w, rng, qwen=False)
        hidden = spec.extra["mm_hidden"]
        w.add_tensor("mm.0.weight", random_normal(rng, (hidden, v), s))
        w.add_tensor("mm.0.bias", np.zeros(hidden, np.float32))
        w.add_tensor("mm.2.weight", random_normal(rng, (n, hidden), 0.3))
        w.add_tensor("mm.2.bias", np.zeros(n, np.float32))
    elif spec.projector == "resampler":
        # MiniCPM-V's converter writes projection_dim 0; the width is the resampler's.
        _projector_header(spec, w, 0, (SIGLIP_MEAN, SIGLIP_STD))
        w.add_bool("clip.has_minicpmv_projector", True)
        w.add_bool("clip.use_gelu", True)
        w.add_int32("clip.minicpmv_version", spec.extra["minicpmv_version"])
        w.add_uint32("clip.minicpmv_query_num", spec.extra["query_num"])
        buckets = 70 * 70  # clip.cpp maps every patch onto a 70x70 position grid
        _siglip_embeddings(spec, w, rng, buckets)
        _vision_tower(spec, w, rng, qwen=False)
        w.add_tensor("resampler.query", random_normal(rng, (spec.extra["query_num"], n), s))
        w.add_tensor("resampler.kv.weight", random_normal(rng, (n, v), s))
        w.add_tensor("resampler.pos_embed_k", random_normal(rng, (buckets, n), s))
        for name in ("q", "kv", "post"):
            w.add_tensor(f"resampler.ln_{name}.weight", np.ones(n, np.float32))
            w.add_tensor(f"resampler.ln_{name}.bias", np.zeros(n, np.float32))
        for name in ("q", "k", "v", "out"):
            w.add_tensor(f"resampler.attn.{name}.weight", random_normal(rng, (n, n), s))
            w.add_tensor(f"resampler.attn.{name}.bias", np.zeros(n, np.float32))
        proj = _channel_free(random_normal(rng, (n, n), 0.3), channel, 0)
        w.add_tensor("resampler.proj.weight", proj)
    else:
        raise ValueError(f"no projector writer for {spec.projector}")
    finish_gguf(w)


# -- entry points -----------------------------------------------------------------


def family_of(spec: FamilySpec | VlmSpec) -> str:
    if isinstance(spec, FamilySpec):
        return spec.family
    return "llava-1.6" if spec.grid_pinpoints else "llava-1.5"


def write_spec(spec: FamilySpec | VlmSpec, directory: Path) -> tuple[Path, Path]:
    """Write ``<name>.gguf`` and ``mmproj-<name>.gguf`` into ``directory``."""
    if isinstance(spec, VlmSpec):
        model, mmproj = write_vlm(spec, directory)
        assert mmproj is not None
        return model, mmproj
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(spec.seed)
    model = directory / f"{spec.name}.gguf"
    mmproj = directory / f"mmproj-{spec.name}.gguf"
    _write_text_model(spec, model, rng)
    _write_projector(spec, mmproj, rng)
    return model, mmproj


def write_family(name: str, directory: Path, *, bench: bool = False) -> tuple[Path, Path]:
    """The tiny pair of one catalog family; ``bench`` only exists for Qwen2.5-VL (M-RoPE)."""
    if bench:
        if name != "qwen2.5-vl":
            raise ValueError(f"no bench-size pair for {name}")
        return write_spec(QWEN25_VL_BENCH, directory)
    return write_spec(FAMILIES[name], directory)
