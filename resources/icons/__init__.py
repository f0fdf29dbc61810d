"""Toolbar icons, one SVG per theme (``NAME-light.svg`` is drawn for light backgrounds)."""
