"""Smoke-test a frozen build: ``python3 packaging/smoke.py PROGRAM``.

Runs the frozen program as a user would, with the test suite's tiny random-weight
model (written here, never downloaded): ``describe --json`` must answer, and the
window must start offscreen and keep running. CI runs it after every freeze.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from tests.tinyvlm import SPEC_A, write_vlm  # noqa: E402


def main() -> int:
    program = Path(sys.argv[1]).resolve()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        model, mmproj = write_vlm(SPEC_A, root / "model")
        assert mmproj is not None
        photo = root / "photo.png"
        Image.new("RGB", (64, 48), (200, 40, 40)).save(photo)
        env = dict(os.environ, SIGHTLINE_HOME=str(root / "home"), QT_QPA_PLATFORM="offscreen")
        answer = subprocess.run(
            [str(program), "describe", str(photo), "--model-path", str(model),
             "--mmproj", str(mmproj), "--max-tokens", "8", "--json"],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if answer.returncode != 0:
            print(f"describe failed ({answer.returncode}):\n{answer.stderr}", file=sys.stderr)
            return 1
        result = json.loads(answer.stdout)
        print(f"describe --json: {result['completion_tokens']} tokens, {result['ttft_ms']} ms")
        window = subprocess.Popen([str(program)], env=env, stderr=subprocess.PIPE, text=True)
        try:
            code = window.wait(timeout=15)
        except subprocess.TimeoutExpired:
            code = None
        window.terminate()
        _, err = window.communicate(timeout=30)
        if code is not None:
            print(f"the window exited at once ({code}):\n{err}", file=sys.stderr)
            return 1
        print("window: started offscreen")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
