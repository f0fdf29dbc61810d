"""Everything that talks to a model. Qt-free, so the CLI, the tests and the window share it."""
