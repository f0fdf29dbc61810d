"""Every conversation in one SQLite file: messages, usage, images stored once by content."""
