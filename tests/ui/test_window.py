"""The chat window, driven as a user drives it, on the real tiny model (offscreen Qt).

Qt warnings fail these tests (``qt_log_level_fail`` in pyproject.toml).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QMimeData, Qt, QUrl
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from desktop.ui.main_window import MainWindow
from desktop.ui.widgets import MessageView
from models.stream_relay import vision_refusal
from tests import corpus


def install(home: Path, name: str, vlm: Any) -> None:
    folder = home / "models" / name
    folder.mkdir(parents=True)
    shutil.copy(vlm.model, folder)
    if vlm.mmproj:
        shutil.copy(vlm.mmproj, folder)


@pytest.fixture
def window(qtbot: QtBot, sightline_home: Path, vlm_a: Any) -> Iterator[MainWindow]:
    install(sightline_home, "tiny", vlm_a)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def messages(w: MainWindow) -> list[MessageView]:
    return list(w.thread_view.views)


def drop_files(w: MainWindow, *paths: Path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    assert w.attachments.take_mime(mime)


def wait_answer(qtbot: QtBot, w: MainWindow) -> None:
    qtbot.waitUntil(lambda: not w.turns.answering, timeout=60000)


def wait_chips(qtbot: QtBot, w: MainWindow, images: int) -> None:
    qtbot.waitUntil(
        lambda: len(w.attachments.pending_images()) >= images and not w.attachments.busy(),
        timeout=30000,
    )


def test_first_run_without_a_model_offers_three_ways_to_get_one(qtbot: QtBot) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    assert w.stack.currentWidget() is w.welcome
    assert "Recommended for this computer" in w.welcome.recommended.text()
    assert w.welcome.download_button.isEnabled()
    w.send("hello")
    assert "No model yet" in w.banner.label.text()
    w.close()


def test_importing_from_the_welcome_panel_leaves_it(qtbot: QtBot, vlm_a: Any) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    w.welcome.import_pair(vlm_a.model, vlm_a.mmproj)
    qtbot.waitUntil(lambda: w.stack.currentWidget() is w.thread_view, timeout=20000)
    assert "[vision]" in w.picker.combo.currentText()
    w.close()


def test_drop_an_image_ask_and_watch_the_answer_stream(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    drop_files(window, corpus.photo(tmp_path / "photo.jpg"))
    wait_chips(qtbot, window, 1)
    window.composer.setPlainText("What is in this photo?")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    user, answer = messages(window)
    assert user.text == "What is in this photo?"
    assert answer.text.strip()
    assert "tokens/s" in answer.footer.text()
    assert window.attachments.chips == []
    stored = window.store.conversation_messages(window.turns.conversation_id or 0)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].attachments[0].label.endswith("photo.jpg")
    assert window.sidebar.count() == 1

    window.composer.setPlainText("And the colours?")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return)
    wait_answer(qtbot, window)
    stored = window.store.conversation_messages(window.turns.conversation_id or 0)
    assert len(stored) == 4
    assert (stored[3].cached_tokens or 0) >= (stored[1].prompt_tokens or 0), "the image was reused"


def test_shift_enter_makes_a_new_line_instead_of_sending(qtbot: QtBot, window: MainWindow) -> None:
    window.composer.setPlainText("line one")
    qtbot.keyClick(window.composer, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert not window.turns.answering
    assert "\n" in window.composer.toPlainText()


def test_stop_keeps_the_partial_answer(qtbot: QtBot, window: MainWindow) -> None:
    window.send("Talk for a long time.", max_tokens=100000)
    assert window.turns.job is not None
    window.turns.chunk.connect(lambda _text: window.stop())
    wait_answer(qtbot, window)
    [_, answer] = messages(window)
    assert answer.text.strip()
    assert "stopped" in answer.footer.text()
    stored = window.store.conversation_messages(window.turns.conversation_id or 0)
    assert stored[1].status == "partial"
    assert stored[1].text.strip() == answer.text.strip()


def test_a_pdf_becomes_pages_and_a_pasted_image_an_attachment(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    drop_files(window, corpus.pdf(tmp_path / "report.pdf", pages=3))
    mime = QMimeData()
    image = QImage(40, 30, QImage.Format.Format_RGB32)
    image.fill(Qt.GlobalColor.red)
    mime.setImageData(image)
    window.composer.insertFromMimeData(mime)
    wait_chips(qtbot, window, 4)
    labels = [p.label for p in window.attachments.pending_images()]
    assert labels[:3] == ["report.pdf p.1", "report.pdf p.2", "report.pdf p.3"]
    assert labels[3] == "pasted image"
    window.attachments.chips[0].removed.emit()
    assert len(window.attachments.pending_images()) == 1


def test_a_bad_file_shows_a_banner_and_the_conversation_survives(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    window.send("Hello there")
    wait_answer(qtbot, window)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 30)
    drop_files(window, broken)
    qtbot.waitUntil(window.banner.isVisible, timeout=10000)
    assert "broken.png" in window.banner.label.text()
    assert window.attachments.chips == []
    assert len(messages(window)) == 2
    window.send("Still here?")
    wait_answer(qtbot, window)
    assert len(window.store.conversation_messages(window.turns.conversation_id or 0)) == 4


def test_a_text_only_model_explains_why_images_are_not_sent(
    qtbot: QtBot, sightline_home: Path, vlm_text_only: Any, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "words", vlm_text_only)
    install(sightline_home, "eyes", vlm_a)
    w = MainWindow()
    qtbot.addWidget(w)
    drop_files(w, corpus.photo(tmp_path / "p.jpg"))
    wait_chips(qtbot, w, 1)
    w.picker.combo.setCurrentIndex(w.picker.combo.findData("embedded:words"))
    assert w.banner.label.text() == (
        "embedded:words cannot see images (it was loaded without a vision projector (mmproj))"
        " — pick a vision model, or import one with its mmproj"
    )
    w.send("What is this?")
    assert not w.turns.answering
    assert messages(w) == []
    assert w.banner.label.text() == vision_refusal("embedded:words", "embedded", False, True)
    w.close()


def test_regenerate_and_edit_replace_later_turns(qtbot: QtBot, window: MainWindow) -> None:
    window.send("First question")
    wait_answer(qtbot, window)
    window.send("Second question")
    wait_answer(qtbot, window)
    cid = window.turns.conversation_id or 0
    window.regenerate()
    wait_answer(qtbot, window)
    stored = window.store.conversation_messages(cid)
    assert [m.text for m in stored if m.role == "user"] == ["First question", "Second question"]
    assert len(stored) == 4
    window.resend(stored[0], "A better first question")
    wait_answer(qtbot, window)
    stored = window.store.conversation_messages(cid)
    assert [m.text for m in stored if m.role == "user"] == ["A better first question"]
    assert len(messages(window)) == 2


def test_search_rename_export_and_delete(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    window.send("Tell me about invoices")
    wait_answer(qtbot, window)
    cid = window.turns.conversation_id or 0
    window.new_chat()
    window.send("Something else entirely")
    wait_answer(qtbot, window)
    assert window.sidebar.count() == 2
    qtbot.keyClicks(window.sidebar.search, "invoi")
    assert window.sidebar.count() == 1
    window.sidebar.search.clear()
    window.sidebar.rename(cid, "Invoices")
    qtbot.waitUntil(lambda: window.store.title(cid) == "Invoices", timeout=10000)
    job = window.sidebar.export(cid, "md", tmp_path / "out.md")
    qtbot.waitUntil(lambda: not job.running, timeout=10000)
    assert "Tell me about invoices" in (tmp_path / "out.md").read_text()
    window.sidebar.delete(cid)
    qtbot.waitUntil(lambda: window.sidebar.count() == 1, timeout=10000)


def test_the_popup_describes_an_image(qtbot: QtBot, window: MainWindow, tmp_path: Path) -> None:
    from desktop.ui.popup import PopupWindow

    popup = PopupWindow(window, corpus.photo(tmp_path / "shot.jpg"))
    qtbot.addWidget(popup)
    qtbot.waitUntil(lambda: "tokens/s" in popup.status.text(), timeout=30000)
    assert popup.answer.strip()
    popup.close()


def test_a_second_launch_hands_its_files_to_the_first(
    cli_env: dict[str, str], sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    install(sightline_home, "tiny", vlm_a)
    env = dict(cli_env, QT_QPA_PLATFORM="offscreen")
    first = subprocess.Popen(
        [sys.executable, "-m", "desktop.cli"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        from desktop.ui.single_instance import send

        deadline = time.monotonic() + 30
        while not send("open", []):  # the first instance is up once it answers
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.2)
        photo = corpus.photo(tmp_path / "forwarded.jpg")
        started = time.monotonic()
        second = subprocess.run(
            [sys.executable, "-m", "desktop.cli", str(photo)],
            env=env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 0, second.stderr
        assert time.monotonic() - started < 15, "the second launch returns at once"
        log = (sightline_home / "logs" / "sightline.log").read_text()
        assert "handed over open with 1 file(s)" in log
        assert first.poll() is None, "the first instance keeps running"
    finally:
        first.terminate()
        first.wait(timeout=20)


@pytest.mark.parametrize("args", [[], ["describe", "--popup", "photo.jpg"]])
def test_no_display_is_one_clear_line_and_exit_3(cli_env: dict[str, str], args: list[str]) -> None:
    env = {
        k: v
        for k, v in cli_env.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    r = subprocess.run(
        [sys.executable, "-m", "desktop.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 3
    assert r.stderr.strip() == (
        "sightline: no display available; use `sightline describe FILE`, "
        "or run under a desktop session"
    )


@pytest.fixture
def cloud_window(
    qtbot: QtBot,
    sightline_home: Path,
    vlm_text_only: Any,
    start_standin: Any,
    keychain: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[MainWindow, Any, list[str]]]:
    """A text-only local model, and an OpenAI stand-in whose key is in the (stand-in) keychain."""
    standin = start_standin("openai")
    monkeypatch.setenv("OPENAI_BASE_URL", standin.url)
    keychain.set_password("sightline", "openai", standin.key)
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.Yes]

    def question(_parent: Any, _title: str, text: str, *args: Any) -> Any:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", question)
    install(sightline_home, "words", vlm_text_only)
    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: any(m.backend == "openai" for m in w.models), timeout=20000)
    w.answer = answer  # type: ignore[attr-defined]
    yield w, standin, asked
    w.close()


def test_a_cloud_model_asks_once_what_will_be_sent_and_shows_the_cost(
    qtbot: QtBot, cloud_window: tuple[MainWindow, Any, list[str]], tmp_path: Path
) -> None:
    w, standin, asked = cloud_window
    assert "[cloud]" in w.picker.combo.itemText(w.picker.combo.findData("openai:gpt-4.1-mini"))
    w.picker.combo.setCurrentIndex(w.picker.combo.findData("openai:gpt-4.1-mini"))
    drop_files(w, corpus.exif_rotated_jpeg(tmp_path / "gps.jpg"))
    wait_chips(qtbot, w, 1)
    w.send("What is this?")
    wait_answer(qtbot, w)
    assert len(asked) == 1
    assert "1 image(s)" in asked[0]
    assert "no EXIF, GPS or camera data" in asked[0]
    [_, answer] = messages(w)
    assert "☁ cloud" in answer.footer.text()
    assert "$" in answer.footer.text()
    assert len(standin.received) == 1
    w.send("And now?")
    wait_answer(qtbot, w)
    assert len(asked) == 1, "asked once per conversation"
    stored = w.store.conversation_messages(w.turns.conversation_id or 0)
    assert (stored[1].cost_usd or 0) > 0


def test_declining_sends_nothing(
    qtbot: QtBot, cloud_window: tuple[MainWindow, Any, list[str]]
) -> None:
    w, standin, _asked = cloud_window
    w.answer[0] = QMessageBox.StandardButton.No  # type: ignore[attr-defined]
    w.picker.combo.setCurrentIndex(w.picker.combo.findData("openai:gpt-4.1-mini"))
    w.send("Hello")
    assert not w.turns.answering
    assert standin.received == []
    assert messages(w) == []


def test_the_cloud_fallback_answers_when_the_local_model_cannot_see(
    qtbot: QtBot, cloud_window: tuple[MainWindow, Any, list[str]], tmp_path: Path
) -> None:
    w, standin, _asked = cloud_window
    w.picker.combo.setCurrentIndex(w.picker.combo.findData("embedded:words"))
    drop_files(w, corpus.photo(tmp_path / "p.jpg"))
    wait_chips(qtbot, w, 1)
    w.send("What is this?")
    assert standin.received == [], "without the fallback a text-only model refuses"
    w.picker.cloud_fallback.setChecked(True)
    w.send("What is this?")
    wait_answer(qtbot, w)
    assert len(standin.received) == 1
    assert w.store.conversation_settings(w.turns.conversation_id or 0)["cloud_fallback"] is True


def test_settings_are_saved_where_the_app_reads_them(
    qtbot: QtBot, sightline_home: Path, keychain: Any
) -> None:
    from desktop.settings import Settings, load_settings
    from desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(Settings(), ["embedded:tiny"])
    qtbot.addWidget(dialog)
    dialog.default_model.setCurrentIndex(dialog.default_model.findData("embedded:tiny"))
    dialog.n_ctx.setValue(8192)
    dialog.theme.setCurrentIndex(dialog.theme.findData("dark"))
    dialog.ollama.setText("http://nas.local:11434")
    dialog.save()
    saved = load_settings()
    assert saved.default_model == "embedded:tiny"
    assert saved.n_ctx == 8192
    assert saved.theme == "dark"
    assert saved.ollama_host == "http://nas.local:11434"
