"""Images already turned into mtmd chunks, kept by content hash between turns.

``mtmd_tokenize`` runs an image's whole preprocessing (resize, slicing,
normalising to floats) every time it sees the image. A conversation's prompt
holds every earlier image again on every turn, so without this a follow-up
about a 16-page PDF would prepare 16 pages before answering. mtmd tokenizes
the text between media markers independently of the images, so each image
can be prepared once on its own and its chunks spliced into later prompts.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llama_cpp import mtmd_cpp

from models.conversation import ImagePart
from models.errors import ModelError
from models.llamacpp.sequence import ImageUnit, Unit
from models.llamacpp.stats import BackendStats

MEDIA_MARKER = "<__media__>"
"""What ``mtmd_default_marker()`` returns: where the prompt text holds an image."""


@dataclass(slots=True)
class PreparedImage:
    """One image as prompt units; ``chunks`` maps a unit's offset to its mtmd image chunk."""

    units: list[Unit]
    chunks: dict[int, Any]
    handle: Any
    cost: int

    def free(self) -> None:
        mtmd_cpp.mtmd_input_chunks_free(self.handle)


class PreparedImages:
    """A bounded, least-recently-used store of prepared images for one mtmd context."""

    def __init__(self, mtmd: Any, budget_bytes: int, stats: BackendStats) -> None:
        self._mtmd = mtmd
        self._budget = budget_bytes
        self._stats = stats
        self._items: OrderedDict[str, PreparedImage] = OrderedDict()
        self._used = 0

    def get(self, image: ImagePart) -> PreparedImage:
        found = self._items.get(image.digest)
        if found is not None:
            self._items.move_to_end(image.digest)
            return found
        prepared = self._prepare(image)
        self._items[image.digest] = prepared
        self._used += prepared.cost
        self._stats.image_preparations += 1
        return prepared

    def trim(self, keep: Iterable[str]) -> None:
        """Free the oldest images beyond the budget, except those the current prompt uses."""
        keep = set(keep)
        for digest in list(self._items):
            if self._used <= self._budget:
                break
            if digest in keep:
                continue
            item = self._items.pop(digest)
            self._used -= item.cost
            item.free()

    def clear(self) -> None:
        for item in self._items.values():
            item.free()
        self._items.clear()
        self._used = 0

    def _prepare(self, image: ImagePart) -> PreparedImage:
        pixels = (ctypes.c_uint8 * len(image.rgb)).from_buffer_copy(image.rgb)
        bitmap = mtmd_cpp.mtmd_bitmap_init(image.width, image.height, pixels)
        if not bitmap:
            raise ModelError(f"{image.label or 'image'}: llama.cpp rejected the pixels")
        try:
            mtmd_cpp.mtmd_bitmap_set_id(bitmap, image.digest.encode())
            data = MEDIA_MARKER.encode()
            inp = mtmd_cpp.mtmd_input_text()
            inp.text = data
            inp.text_len = len(data)
            inp.add_special = False
            inp.parse_special = True
            handle = mtmd_cpp.mtmd_input_chunks_init()
            array = (mtmd_cpp.mtmd_bitmap_p_ctypes * 1)(bitmap)
            status = mtmd_cpp.mtmd_tokenize(self._mtmd, handle, ctypes.byref(inp), array, 1)
            if status != 0:
                mtmd_cpp.mtmd_input_chunks_free(handle)
                name = image.label or "image"
                raise ModelError(f"{name}: llama.cpp could not prepare it (mtmd error {status})")
        finally:
            mtmd_cpp.mtmd_bitmap_free(bitmap)
        units: list[Unit] = []
        chunks: dict[int, Any] = {}
        n_out = ctypes.c_size_t(0)
        for i in range(mtmd_cpp.mtmd_input_chunks_size(handle)):
            chunk = mtmd_cpp.mtmd_input_chunks_get(handle, i)
            if mtmd_cpp.mtmd_input_chunk_get_type(chunk) == mtmd_cpp.MTMD_INPUT_CHUNK_TYPE_TEXT:
                tokens = mtmd_cpp.mtmd_input_chunk_get_tokens_text(chunk, ctypes.byref(n_out))
                units.extend(tokens[: n_out.value])
                continue
            chunks[len(units)] = chunk
            units.append(
                ImageUnit(
                    digest=(mtmd_cpp.mtmd_input_chunk_get_id(chunk) or b"").decode(),
                    n_tokens=mtmd_cpp.mtmd_input_chunk_get_n_tokens(chunk),
                    n_pos=mtmd_cpp.mtmd_input_chunk_get_n_pos(chunk),
                )
            )
        # The preprocessed floats dominate what a prepared image holds.
        return PreparedImage(units, chunks, handle, cost=image.width * image.height * 3 * 4)
