"""The ``sightline`` command: the same engine as the window, driven from a terminal."""
