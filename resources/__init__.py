"""Data shipped with Sightline: prompt presets, model catalog, icons, desktop entries."""
