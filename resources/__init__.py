"""Data shipped with Sightline: prompt presets, the model catalog, icons, desktop-entry templates."""
