"""Every conversation, kept in one SQLite file: messages, usage, and images stored once by content."""
