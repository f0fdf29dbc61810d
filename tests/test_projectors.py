"""Facts of each projector type, as its llama.cpp code reads them."""

from __future__ import annotations

from models.projectors import max_image_side, output_width


def test_a_fixed_size_projector_uses_its_image_size() -> None:
    assert max_image_side({"clip.projector_type": "mlp", "clip.vision.image_size": 336}) == 336
    assert max_image_side({"clip.projector_type": "gemma3", "clip.vision.image_size": 896}) == 896


def test_llava_16_uses_its_largest_grid_pinpoint() -> None:
    meta = {
        "clip.projector_type": "mlp",
        "clip.vision.image_size": 336,
        "clip.vision.image_grid_pinpoints": [336, 672, 672, 336, 672, 672, 1008, 336],
    }
    assert max_image_side(meta) == 1008


def test_minicpm_v_keeps_its_high_resolution_slices() -> None:
    meta = {"clip.projector_type": "resampler", "clip.vision.image_size": 448}
    assert max_image_side(meta) == 1344  # up to nine 448-px slices, 3 x 3


def test_qwen_is_bounded_by_its_token_budget_or_the_files_own_pixel_limit() -> None:
    meta = {
        "clip.projector_type": "qwen2.5vl_merger",
        "clip.vision.image_size": 560,
        "clip.vision.patch_size": 14,
        "clip.vision.spatial_merge_size": 2,
    }
    assert max_image_side(meta) == 1792  # 4096 merged 28-px patches
    assert max_image_side({**meta, "clip.vision.image_max_pixels": 1003520}) == 1001


def test_smolvlm_uses_its_preprocessing_edge() -> None:
    meta = {"clip.projector_type": "idefics3", "clip.vision.image_size": 384}
    assert max_image_side(meta) == 384
    assert max_image_side({**meta, "clip.vision.preproc_image_size": 1536}) == 1536


def test_an_unknown_or_broken_projector_falls_back_safely() -> None:
    assert max_image_side({"clip.projector_type": "future", "clip.vision.image_size": 512}) == 512
    assert max_image_side({"clip.projector_type": "resampler", "clip.vision.image_size": 0}) == 1344
    assert max_image_side({}) == 1344


def test_the_output_width_is_read_where_llama_cpp_reads_it() -> None:
    tensors = {"resampler.proj.weight": (3584, 3584), "mm.2.weight": (4096, 4096)}
    minicpm = {"clip.projector_type": "resampler", "clip.vision.projection_dim": 0}
    assert output_width(minicpm, tensors) == 3584
    llava = {"clip.projector_type": "mlp"}
    assert output_width(llava, {"mm.2.weight": (1024, 4096)}) == 4096
    qwen = {"clip.projector_type": "qwen2.5vl_merger"}
    assert output_width(qwen, {"mm.1.bias": (2048,)}) == 2048
    unknown = {"clip.projector_type": "future", "clip.vision.projection_dim": 1536}
    assert output_width(unknown, {}) == 1536
    assert output_width({"clip.projector_type": "future"}, {}) is None
