"""Screenshots for "Ask about your screen" and "Find things in a picture", from the real widgets.

    QT_QPA_PLATFORM=offscreen python3 docs/screenshots/take_capture.py

Writes capture-overlay.png, find-boxes.png and find-annotated.png beside
this script. The scenes are drawn here; the boxes are what a Qwen2.5-VL
answer in its own format maps to through desktop.grounding.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent))

from PIL import Image, ImageDraw  # noqa: E402
from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QMouseEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from desktop.grounding import load_conventions, parse_answer, to_original  # noqa: E402
from desktop.grounding.annotate import annotate  # noqa: E402
from desktop.ingest.image import source_geometry  # noqa: E402
from desktop.ui.box_overlay import BoxOverlay  # noqa: E402
from desktop.ui.capture_overlay import RegionOverlay  # noqa: E402

QWEN_ANSWER = """```json
[
  {"bbox_2d": [96, 190, 330, 300], "label": "red car"},
  {"bbox_2d": [420, 60, 470, 190], "label": "traffic light"},
  {"bbox_2d": [520, 210, 590, 300], "label": "cat"}
]
```"""


def desktop_scene(width: int, height: int) -> Image.Image:
    img = Image.new("RGB", (width, height), (46, 52, 64))
    d = ImageDraw.Draw(img)
    d.rectangle((60, 50, 700, 520), fill=(250, 250, 250))
    d.rectangle((60, 50, 700, 82), fill=(220, 224, 230))
    d.text((76, 60), "Quarterly report - Spreadsheet", fill=(20, 20, 20))
    for i, h in enumerate((160, 230, 190, 270)):
        d.rectangle((120 + i * 130, 470 - h, 200 + i * 130, 470), fill=(47, 111, 222))
        d.text((145 + i * 130, 480), f"Q{i + 1}", fill=(20, 20, 20))
    d.rectangle((740, 120, 1180, 420), fill=(255, 255, 255))
    d.text((760, 140), "Error 0x80070005: Access is denied.", fill=(200, 30, 30))
    d.text((760, 170), "The file could not be saved.", fill=(40, 40, 40))
    return img


def street_scene() -> Image.Image:
    img = Image.new("RGB", (640, 360), (170, 210, 240))
    d = ImageDraw.Draw(img)
    d.rectangle((0, 250, 640, 360), fill=(90, 90, 95))
    d.rounded_rectangle((100, 200, 325, 285), 18, fill=(205, 30, 40))
    d.rounded_rectangle((140, 170, 280, 215), 14, fill=(205, 30, 40))
    for x in (150, 275):
        d.ellipse((x - 22, 268, x + 22, 312), fill=(25, 25, 25))
    d.rectangle((438, 120, 450, 330), fill=(60, 60, 60))
    d.rectangle((424, 62, 464, 178), fill=(30, 30, 30))
    for i, c in enumerate(((230, 40, 40), (240, 190, 30), (40, 200, 80))):
        d.ellipse((432, 70 + i * 36, 456, 94 + i * 36), fill=c)
    d.ellipse((525, 240, 585, 300), fill=(120, 110, 100))
    d.polygon([(530, 250), (540, 215), (552, 246)], fill=(120, 110, 100))
    d.polygon([(558, 246), (570, 215), (580, 250)], fill=(120, 110, 100))
    return img


def to_qimage(img: Image.Image) -> QImage:
    data = img.tobytes()
    return QImage(data, img.width, img.height, img.width * 3, QImage.Format.Format_RGB888).copy()


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    screen = QGuiApplication.primaryScreen()
    size = screen.geometry().size()
    scene = desktop_scene(1280, 800).resize((size.width(), size.height()), Image.Resampling.LANCZOS)
    fx, fy = size.width() / 1280, size.height() / 800
    overlay = RegionOverlay(screen, to_qimage(scene))
    overlay.resize(size)
    overlay.show()
    for kind, pos in (
        (QMouseEvent.Type.MouseButtonPress, QPoint(round(730 * fx), round(110 * fy))),
        (QMouseEvent.Type.MouseMove, QPoint(round(1195 * fx), round(432 * fy))),
    ):
        button = Qt.MouseButton.LeftButton
        event = QMouseEvent(
            kind, QPointF(pos), QPointF(pos), button, button, Qt.KeyboardModifier.NoModifier
        )
        QApplication.sendEvent(overlay, event)
    overlay.grab().save(str(HERE / "capture-overlay.png"))
    overlay.close()

    scene = street_scene()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "street.png"
        scene.save(path)
        geo = source_geometry(path, "street.png")
        conv = load_conventions()[1]["qwen2_5_vl"]
        boxes, points = to_original(parse_answer(QWEN_ANSWER), conv, scene.size, geo)
        annotate(path, geo, boxes, points, HERE / "find-annotated.png")
    widget = BoxOverlay()
    widget.set_content(to_qimage(scene), boxes, points)
    widget.resize(640, 360 + 150)
    widget.show()
    widget.highlight(2)
    app.processEvents()
    widget.grab().save(str(HERE / "find-boxes.png"))


if __name__ == "__main__":
    main()
