"""One conversation's own answer length, temperature and system prompt.

Empty fields mean "use the defaults from Settings"; the values are kept with
the conversation (or, for a new chat, until its first turn creates it).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QPlainTextEdit,
    QSpinBox,
    QWidget,
)

from desktop.ui.turns import TurnController


class ConversationSettings(QDialog):
    def __init__(self, turns: TurnController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.turns = turns
        self.setWindowTitle("This conversation")
        form = QFormLayout(self)
        defaults = turns.settings
        tokens = turns.conversation_setting("answer_tokens")
        self.answer_tokens = QSpinBox()
        self.answer_tokens.setRange(0, 32768)
        self.answer_tokens.setSingleStep(256)
        self.answer_tokens.setSpecialValueText(f"default ({defaults.answer_tokens})")
        self.answer_tokens.setValue(tokens if isinstance(tokens, int) else 0)
        form.addRow("Longest answer (tokens)", self.answer_tokens)
        temperature = turns.conversation_setting("temperature")
        self.temperature = QDoubleSpinBox()
        self.temperature.setRange(-0.1, 2.0)
        self.temperature.setSingleStep(0.1)
        self.temperature.setSpecialValueText("default")
        self.temperature.setValue(
            float(temperature) if isinstance(temperature, int | float) else -0.1
        )
        form.addRow("Temperature", self.temperature)
        prompt = turns.conversation_setting("system_prompt")
        self.system_prompt = QPlainTextEdit(prompt if isinstance(prompt, str) else "")
        self.system_prompt.setPlaceholderText("e.g. Answer in French, briefly.")
        self.system_prompt.setTabChangesFocus(True)
        form.addRow("System prompt", self.system_prompt)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def save(self) -> None:
        temperature = self.temperature.value()
        self.turns.remember(
            answer_tokens=self.answer_tokens.value() or None,
            temperature=None if temperature < 0 else temperature,
            system_prompt=self.system_prompt.toPlainText().strip() or None,
        )
        self.turns.forget_session()
        self.accept()
