"""The Qt window: the only package that imports Qt. It drives the same engine as the CLI."""
