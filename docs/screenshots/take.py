"""Screenshots of the real window, for the README and for looking at what users see.

    xvfb-run -a -s "-screen 0 1400x900x24" env QT_QPA_PLATFORM=xcb python3 docs/screenshots/take.py

Writes PNGs beside this script: empty and conversation, light and dark, at
1280x800 and (``-720``) at 720x600. The test model answers in random words, so
the conversation screenshot's answer is written into a scratch history as a
saved conversation would be; everything else is produced live.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))
home = Path(tempfile.mkdtemp(prefix="sightline-shots-"))
os.environ["SIGHTLINE_HOME"] = str(home)

from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication, QInputDialog  # noqa: E402

from desktop.history.store import HistoryStore  # noqa: E402
from desktop.ui import theme  # noqa: E402
from desktop.ui.main_window import MainWindow  # noqa: E402
from models.backend import Usage  # noqa: E402
from models.conversation import ImagePart  # noqa: E402
from tests import corpus  # noqa: E402
from tests.tinyvlm import SPEC_A, write_vlm  # noqa: E402

ANSWER = """The chart shows **quarterly revenue** for 2026:

| Quarter | Revenue | Change |
|---|---:|---:|
| Q1 | €1.2 M | — |
| Q2 | €1.5 M | +25 % |
| Q3 | €1.4 M | -7 % |

- Q2 is the strongest quarter.
- Q3 dips slightly; the legend attributes it to *seasonal demand*.

```json
{"best_quarter": "Q2", "currency": "EUR"}
```
"""


def chart() -> ImagePart:
    img = Image.new("RGB", (480, 300), "white")
    d = ImageDraw.Draw(img)
    for i, h in enumerate((120, 150, 140)):
        d.rectangle((80 + i * 120, 260 - h, 160 + i * 120, 260), fill=(47, 111, 222))
        d.text((105 + i * 120, 270), f"Q{i + 1}", fill="black")
    d.line((60, 260, 440, 260), fill="black", width=2)
    return ImagePart.from_rgb(img.width, img.height, img.tobytes(), "revenue.png")


def seed_history() -> int:
    store = HistoryStore.open()
    cid = store.create_conversation(model="embedded:tiny")
    store.add_user_message(cid, "Read this chart and give me the numbers.", [chart()])
    writer = store.start_answer(cid, "embedded:tiny", "embedded")
    writer.append(ANSWER)
    writer.finish(
        Usage(
            prompt_tokens=612,
            cached_tokens=0,
            completion_tokens=118,
            tokens_per_s=31.4,
            ttft_ms=850,
            finish_reason="stop",
        )
    )
    for title in ("Defects on the blue mug", "Alt text for the team photo", "Invoice 2026-114"):
        other = store.create_conversation()
        store.add_user_message(other, title, [])
    store.close()
    return cid


def main() -> None:
    model, mmproj = write_vlm(SPEC_A, home / "src")
    (home / "models" / "tiny").mkdir(parents=True)
    shutil.copy(model, home / "models" / "tiny")
    assert mmproj is not None
    shutil.copy(mmproj, home / "models" / "tiny")
    app = QApplication([])
    app.setQuitOnLastWindowClosed(False)
    steps: list[tuple[int, object]] = []

    def shoot(widget: object, name: str) -> None:
        widget.grab().save(str(HERE / name))  # type: ignore[attr-defined]

    window: MainWindow | None = None
    seeded: list[int] = []

    def open_window(name_theme: str, size: tuple[int, int], with_model: bool) -> None:
        nonlocal window
        if window is not None:
            window.close()
        theme.apply(app, name_theme)
        shutil.rmtree(home / "models", ignore_errors=True)
        if with_model:
            (home / "models" / "tiny").mkdir(parents=True)
            shutil.copy(model, home / "models" / "tiny")
            shutil.copy(mmproj, home / "models" / "tiny")
            if not seeded:
                seeded.append(seed_history())
        window = MainWindow()
        window.resize(*size)
        window.show()
        if with_model:
            window.open_conversation(seeded[0])
            window.attach_files([str(corpus.photo(home / "mug.jpg"))])

    def picker() -> None:
        assert window is not None
        pdf = corpus.pdf(home / "annual-report.pdf", pages=26, size=(300, 400))

        def grab_dialog() -> None:
            for w in app.topLevelWidgets():
                if isinstance(w, QInputDialog) and w.isVisible():
                    w.grab().save(str(HERE / "pdf-page-picker.png"))
                    w.accept()

        QTimer.singleShot(600, grab_dialog)
        window.attach_files([str(pdf)])

    at = 0
    for with_model, kind in ((False, "empty"), (True, "conversation")):
        for name_theme in ("light", "dark"):
            for size, suffix in (((1280, 800), ""), ((720, 600), "-720")):
                shot = f"{kind}-{name_theme}{suffix}.png"
                steps.append((at, lambda t=name_theme, s=size, m=with_model: open_window(t, s, m)))
                steps.append((at + 2500, lambda n=shot: shoot(window, n)))
                at += 2700
    steps += [(at, picker), (at + 2000, app.quit)]
    for delay, action in steps:
        QTimer.singleShot(delay, action)  # type: ignore[arg-type]
    app.exec()


if __name__ == "__main__":
    main()
