"""The rough edges a new user hit in the window, one test each (offscreen, real tiny model)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.ui import chrome, theme
from desktop.ui.main_window import MainWindow
from tests import corpus
from tests.ui.test_window import drop_files, install, messages, wait_answer, wait_chips

UI = Path(__file__).resolve().parents[2] / "desktop" / "ui"


@pytest.fixture
def window(qtbot: QtBot, sightline_home: Path, vlm_a: Any) -> Iterator[MainWindow]:
    install(sightline_home, "tiny", vlm_a)
    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    yield w
    w.close()


def ask(qtbot: QtBot, w: MainWindow, text: str, **params: Any) -> None:
    w.send(text, **params)
    wait_answer(qtbot, w)


# -- structure -------------------------------------------------------------------------


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m.removeprefix("desktop.ui.") for m in found if m.startswith("desktop.ui.")}


def test_the_ui_is_small_parts_without_import_circles_or_private_reach() -> None:
    files = {p.stem: p for p in UI.glob("*.py")}
    assert all(len(p.read_text().splitlines()) <= 450 for p in files.values())
    graph = {name: _imports(p) & files.keys() for name, p in files.items()}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        for nxt in graph[start]:
            if nxt == target or (nxt not in seen and reaches(nxt, target, seen | {nxt})):
                return True
        return False

    assert [n for n in graph if reaches(n, n, {n})] == []
    for p in files.values():
        for node in ast.walk(ast.parse(p.read_text())):
            if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
                owner = node.value
                mine = isinstance(owner, ast.Name) and owner.id in ("self", "cls", "super")
                call = isinstance(owner, ast.Call)  # super().__init__ and friends
                assert mine or call or node.attr.startswith("__"), f"{p.name}: {node.attr}"


# -- 1. the thread follows the conversation --------------------------------------------


def test_1_the_thread_follows_the_stream_until_the_reader_scrolls_up(
    qtbot: QtBot, window: MainWindow
) -> None:
    window.resize(900, 500)
    for n in range(3):
        ask(qtbot, window, f"Question {n} " + "word " * 200, max_tokens=120)
    view = window.thread_view
    qtbot.waitUntil(view.at_bottom, timeout=5000)
    assert not view.jump.isVisible()
    bar = view.scroll_area.verticalScrollBar()
    bar.setValue(0)
    assert not view.following
    assert view.jump.isVisible()
    view.jump.click()
    assert view.following
    assert view.at_bottom()


# -- 2. edit and resend at once and after edits ----------------------------------------


def test_2_every_question_can_be_edited_at_once_and_after_an_edit(
    qtbot: QtBot, window: MainWindow
) -> None:
    ask(qtbot, window, "First")
    ask(qtbot, window, "Second")
    views = messages(window)
    assert [("Edit and resend" in v.actions_) for v in views] == [True, False, True, False]
    assert "Regenerate" in views[-1].actions_
    stored = window.store.conversation_messages(window.turns.conversation_id or 0)
    window.resend(stored[2], "Second, better")
    wait_answer(qtbot, window)
    views = messages(window)
    assert [("Edit and resend" in v.actions_) for v in views] == [True, False, True, False]
    assert all(v.footer.text() for v in views if v.role == "assistant")


# -- 3. keyboard -----------------------------------------------------------------------


def test_3_tab_moves_focus_and_the_usual_shortcuts_exist(qtbot: QtBot, window: MainWindow) -> None:
    window.composer.setFocus()
    qtbot.keyClick(window.composer, Qt.Key.Key_Tab)
    assert "\t" not in window.composer.toPlainText()
    assert window.composer.tabChangesFocus()
    from desktop.ui.widgets import Thumbnail

    opened: list[bool] = []
    thumb = Thumbnail(QPixmap(30, 30), "photo.jpg")
    qtbot.addWidget(thumb)
    thumb.clicked.connect(lambda: opened.append(True))
    qtbot.keyClick(thumb, Qt.Key.Key_Return)
    assert opened, "a thumbnail opens from the keyboard"
    keys = {a.shortcut().toString() for a in window.actions_.values()}
    assert {"Ctrl+Q", "Ctrl+Return", "Ctrl+N", "Ctrl+O", "Ctrl+F", "Ctrl+B"} <= keys
    help_menu = [m for m in window.menuBar().actions() if m.text() == "&Help"]
    assert help_menu
    assert "shortcuts" in help_menu[0].menu().actions()[0].text().lower()


# -- 4. progress on long work ----------------------------------------------------------


def test_4_a_turn_says_what_it_waits_for_and_probes_give_a_result(
    qtbot: QtBot, window: MainWindow, keychain: Any, tmp_path: Path
) -> None:
    said: list[str] = []
    window.turns.status.connect(said.append)
    ask(qtbot, window, "Hello")
    assert any("Waiting for the model" in s or "Loading" in s for s in said)
    photos = [corpus.photo(tmp_path / f"p{n}.jpg", size=(320 + 16 * n, 240)) for n in range(3)]
    drop_files(window, *photos)
    wait_chips(qtbot, window, 3)
    said.clear()
    ask(qtbot, window, "Compare them")
    encoding = [s for s in said if s.startswith("Encoding image")]
    assert encoding == [f"Encoding image {n} of 3…" for n in (1, 2, 3)]
    window.welcome.choose_ollama("http://127.0.0.1:9")  # nothing listens there
    qtbot.waitUntil(lambda: "Looking" not in window.welcome.status.text(), timeout=15000)
    assert "127.0.0.1:9" in window.welcome.status.text()


# -- 5. length limit, settings, regenerate samples anew --------------------------------


def test_5_the_length_limit_is_said_and_regenerate_samples_anew(
    qtbot: QtBot, window: MainWindow
) -> None:
    ask(qtbot, window, "Talk", max_tokens=4)
    answer = messages(window)[-1]
    assert "stopped at the length limit" in answer.footer.text()
    assert "Continue" in answer.actions_
    # A long footer wraps inside the turn rather than being cut off at its edge.
    assert answer.footer.heightForWidth(200) > answer.footer.heightForWidth(2000) > 0
    assert window.turns.params().max_tokens == window.settings.answer_tokens == 1024
    again = window.turns.params(regenerate=True)
    assert again.temperature > 0
    assert again.seed != 0
    from desktop.ui.conversation_settings import ConversationSettings

    dialog = ConversationSettings(window.turns, window)
    qtbot.addWidget(dialog)
    dialog.temperature.setValue(0.0)
    dialog.answer_tokens.setValue(64)
    dialog.system_prompt.setPlainText("Be brief.")
    dialog.save()
    qtbot.waitUntil(lambda: window.turns.params().max_tokens == 64, timeout=5000)
    assert window.turns.conversation_setting("system_prompt") == "Be brief."
    ask(qtbot, window, "And now?")
    assert window.turns.params(regenerate=True).temperature == 0.0


# -- 6. banners look like what they say, and clear when their cause is gone ------------


def test_6_errors_notices_and_successes_differ_and_clear(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, tmp_path: Path
) -> None:
    w = MainWindow()
    qtbot.addWidget(w)
    w.send("hello")
    assert w.banner.isVisibleTo(w)
    assert w.banner.kind == "error"
    job = w.welcome.import_pair(vlm_a.model, vlm_a.mmproj, "tiny")
    qtbot.waitUntil(lambda: not job.running and bool(w.models), timeout=20000)
    assert not w.banner.isVisibleTo(w), "the model is there: the 'No model yet' banner goes"
    w.send("hello")
    wait_answer(qtbot, w)
    export = w.sidebar.export(w.turns.conversation_id or 0, "md", tmp_path / "c.md")
    qtbot.waitUntil(lambda: not export.running, timeout=10000)
    qtbot.waitUntil(lambda: w.banner.isVisibleTo(w), timeout=5000)
    assert w.banner.kind == "success"
    assert "Exported" in w.banner.label.text()
    w.close()


# -- 7. pages asked again; no file twice -----------------------------------------------


def test_7_a_bad_page_range_is_asked_again_and_a_file_is_attached_once(
    qtbot: QtBot, window: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    answers = iter([("40-50", True), ("2-3", True)])
    asked: list[str] = []

    def dialog(question: str, _text: str) -> tuple[str, bool]:
        asked.append(question)
        return next(answers)

    monkeypatch.setattr(window.attachments, "page_dialog", dialog)
    pdf = corpus.pdf(tmp_path / "long.pdf", pages=25)
    drop_files(window, pdf)
    drop_files(window, pdf)
    assert len(window.attachments.chips) == 1
    wait_chips(qtbot, window, 2)
    assert len(asked) == 2
    assert [p.label for p in window.attachments.pending_images()] == [
        "long.pdf p.2",
        "long.pdf p.3",
    ]
    assert "pages 2-3" in window.attachments.chips[0].name.text()


# -- 8. size ---------------------------------------------------------------------------


def test_8_narrow_windows_work_and_lines_stay_readable(qtbot: QtBot, window: MainWindow) -> None:
    assert window.minimumSizeHint().width() <= 640
    window.resize(640, 600)
    qtbot.waitUntil(lambda: window.width() <= 660, timeout=3000)
    window.actions_["sidebar"].trigger()
    assert not window.sidebar.isVisible()
    window.resize(1600, 900)
    chars = window.thread_view.column.maximumWidth() / window.fontMetrics().averageCharWidth()
    assert 70 <= chars <= 100
    window.actions_["sidebar"].trigger()
    window.resize(700, 560)
    window.splitter.setSizes([200, 500])
    sizes = window.splitter.sizes()
    window.close()
    again = MainWindow()
    qtbot.addWidget(again)
    assert (again.width(), again.height()) == (700, 560)
    assert again.splitter.sizes()[0] == sizes[0]
    again.close()


# -- 9. contrast -----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["light", "dark"])
def test_9_text_and_controls_meet_wcag_aa(qtbot: QtBot, name: str) -> None:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    before = app.palette()
    try:
        theme.apply(app, name)
        p = app.palette()
        roles = QPalette.ColorRole
        for fg, bg in (
            (roles.Text, roles.Base),
            (roles.WindowText, roles.Window),
            (roles.ButtonText, roles.Button),
            (roles.HighlightedText, roles.Highlight),
            (roles.PlaceholderText, roles.Base),
        ):
            assert theme.contrast(p.color(fg), p.color(bg)) >= 4.5, (name, fg, bg)
        assert theme.contrast(p.color(roles.Mid), p.color(roles.Base)) >= 3.0
        colours = theme.COLORS[name]
        for fg_key, bg_key, least in theme.CONTRAST_PAIRS:
            ratio = theme.contrast(QColor(colours[fg_key]), QColor(colours[bg_key]))
            assert ratio >= least, (name, fg_key, bg_key, ratio)
    finally:
        app.setStyleSheet("")
        app.setPalette(before)


# -- 10. sidebar -----------------------------------------------------------------------


def test_10_the_sidebar_follows_titles_dates_and_search(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    ask(qtbot, window, "What colour is the sky on Mars?")
    first = window.turns.conversation_id
    window.new_chat()
    drop_files(window, corpus.photo(tmp_path / "holiday.jpg"))
    wait_chips(qtbot, window, 1)
    window.chat.run_preset(window.presets["caption"])
    wait_answer(qtbot, window)
    qtbot.waitUntil(lambda: "holiday.jpg" in window.sidebar.items.item(0).text(), timeout=5000)
    assert window.sidebar.items.currentItem().data(Qt.ItemDataRole.UserRole) == (
        window.turns.conversation_id
    )
    assert "just now" in window.sidebar.items.item(0).text()
    window.open_conversation(first or 0)
    assert window.sidebar.items.currentItem().data(Qt.ItemDataRole.UserRole) == first
    assert window.sidebar.items.horizontalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAlwaysOff
    qtbot.keyClicks(window.sidebar.search, "zzzqqq")
    assert window.sidebar.count() == 0
    assert window.sidebar.empty.isVisibleTo(window)
    assert "No conversation matches" in window.sidebar.empty.text()
    qtbot.keyClick(window.sidebar.search, Qt.Key.Key_Escape)
    assert window.sidebar.search.text() == ""
    assert window.sidebar.count() == 2


# -- 11. the image viewer --------------------------------------------------------------


def test_11_the_viewer_opens_the_original_fit_with_zoom(qtbot: QtBot, tmp_path: Path) -> None:
    from desktop.ui.image_viewer import ImageViewer, original_pixmap

    photo = corpus.photo(tmp_path / "big.jpg")
    small = QPixmap(20, 20)
    full = original_pixmap(small, str(photo))
    assert full.width() > 20
    viewer = ImageViewer(full, "big.jpg")
    qtbot.addWidget(viewer)
    viewer.resize(300, 300)
    viewer.show()
    viewer.fit()
    fitted = viewer.zoom()
    viewer.zoom_in()
    assert viewer.zoom() > fitted
    viewer.actual_size()
    assert viewer.zoom() == 1.0
    viewer.close()


# -- 12. popup → chat keeps the answer -------------------------------------------------


@pytest.mark.qt_log_ignore("This plugin does not support raise")  # offscreen has no stacking
def test_12_open_in_chat_keeps_the_image_and_the_answer(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    from desktop.ui.popup import PopupWindow

    popup = PopupWindow(window, corpus.photo(tmp_path / "shot.jpg"))
    qtbot.addWidget(popup)
    qtbot.waitUntil(lambda: popup.job is not None and not popup.job.running, timeout=30000)
    assert "encoding image" not in popup.answer.lower()  # progress is status, not answer
    popup.open_in_chat()
    qtbot.waitUntil(lambda: window.turns.conversation_id is not None, timeout=10000)
    stored = window.store.conversation_messages(window.turns.conversation_id or 0)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].attachments
    assert stored[1].text.strip() == popup.answer.strip()
    assert len(messages(window)) == 2


# -- 13. first run and leaving ---------------------------------------------------------


def test_13_first_run_and_closing_ask_the_right_questions(
    qtbot: QtBot, sightline_home: Path, vlm_a: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace

    from models.catalog import CatalogFile

    w = MainWindow()
    qtbot.addWidget(w)
    qtbot.waitUntil(lambda: "checking" not in w.welcome.recommended.text(), timeout=15000)
    assert "not listed" not in w.welcome.recommended.text()
    assert w.welcome.entry is not None
    offline = CatalogFile("http://127.0.0.1:9/model.gguf", size=10)
    w.welcome.entry = replace(w.welcome.entry, text=offline, mmproj=offline)
    w.welcome.download()
    qtbot.waitUntil(lambda: w.welcome.retry_button.isVisibleTo(w), timeout=15000)
    assert "model.gguf" not in w.welcome.status.text()
    assert "127.0.0.1" in w.welcome.status.text()
    names: list[str] = []
    monkeypatch.setattr(
        "desktop.ui.import_dialog.QInputDialog.getText",
        lambda *a, **k: names.append(k.get("text", "")) or ("mine", True),
    )
    picked = [(str(vlm_a.model), ""), (str(vlm_a.mmproj), "")]
    monkeypatch.setattr(
        "desktop.ui.import_dialog.QFileDialog.getOpenFileName", lambda *a, **k: picked.pop(0)
    )
    w.welcome.import_files()
    qtbot.waitUntil(lambda: any(m.name == "mine" for m in w.models), timeout=20000)
    assert names, "an import asks for its name"

    defaults: list[Any] = []

    def question(*args: Any) -> Any:
        defaults.append(args[-1])
        return QMessageBox.StandardButton.No

    monkeypatch.setattr(QMessageBox, "question", question)
    w.send("Hello")
    wait_answer(qtbot, w)
    w.sidebar.ask_delete(w.turns.conversation_id or 0)
    assert defaults[-1] == QMessageBox.StandardButton.No
    w.send("Talk for a long time.", max_tokens=100000)
    assert not chrome.confirm_close(w), "closing mid-answer asks, and No keeps the window"
    w.stop()
    wait_answer(qtbot, w)
    w.close()


# -- 14. hint, menus, model management, code copy --------------------------------------


def test_14_drop_hint_menus_model_management_and_code_copy(
    qtbot: QtBot, window: MainWindow
) -> None:
    assert window.thread_view.hint.isVisibleTo(window)
    assert "Drop images or PDFs here" in window.thread_view.hint.text()
    menus = [a.text().replace("&", "") for a in window.menuBar().actions()]
    assert menus == ["File", "Edit", "View", "Help"]
    labels = [a.text() for a in window.picker.menu.actions()]
    assert labels == ["Set as default", "Remove…", "Refresh", "Import GGUF…"]
    window.picker.set_default()
    assert window.settings.default_model == "embedded:tiny"
    view = window.thread_view.add_message("assistant", "Code:\n\n```py\nprint(1)\n```\n")
    assert view.code_blocks() == ["print(1)\n"]


def test_the_settings_dialog_takes_extra_panels_and_icons_follow_the_theme(
    qtbot: QtBot, window: MainWindow, keychain: Any
) -> None:
    from PySide6.QtWidgets import QLabel

    from desktop.ui import chrome
    from desktop.ui.settings_dialog import SettingsDialog

    dialog = SettingsDialog(window.settings, [])
    qtbot.addWidget(dialog)
    rows = dialog.form.rowCount()
    dialog.add_panel("Integration", QLabel("extra"))
    assert dialog.form.rowCount() == rows + 1
    window.settings_panels.append(lambda: ("Extra", QLabel("more")))
    chrome.refresh_icons(window)
    assert not window.actions_["new"].icon().isNull()
