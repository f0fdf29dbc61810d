"""Sightline's icon as SVG text: an eye in a rounded square.

Kept in code so the per-user Linux integration can install it without package data,
and so the release builds render every PNG/ICO/ICNS size from this one drawing.
"""

from __future__ import annotations

from desktop.integrate.plan import MARKER

SVG = f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Sightline icon ({MARKER}) -->
<svg xmlns="http://www.w3.org/2000/svg" width="512" height="512" viewBox="0 0 512 512">
  <rect x="16" y="16" width="480" height="480" rx="108" fill="#1f4e79"/>
  <path d="M64 256 C144 128 368 128 448 256 C368 384 144 384 64 256 Z" fill="#f4f7fb"/>
  <circle cx="256" cy="256" r="84" fill="#2e86de"/>
  <circle cx="256" cy="256" r="40" fill="#0b1b2b"/>
  <circle cx="284" cy="228" r="16" fill="#ffffff"/>
</svg>
"""
