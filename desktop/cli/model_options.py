"""The flags that pick a model, the same on every command that asks one.

Their own module so that a command taking them (``batch``) does not import
another command's module, and everything that one runs on, to get them.
"""

from __future__ import annotations

import argparse


def add_model_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model")
    g.add_argument("--model", metavar="NAME", help="a model from `sightline models list`")
    g.add_argument("--model-path", metavar="GGUF", help="a text model GGUF file")
    g.add_argument("--mmproj", metavar="GGUF", help="its vision projector GGUF file")
    g.add_argument(
        "--allow-cloud",
        action="store_true",
        help="allow a cloud model (openai:, anthropic:, gemini:) for this command",
    )
    g.add_argument("--no-cache", action="store_true", help="never answer from the answer cache")
