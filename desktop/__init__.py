"""The Sightline application: ingestion, history, settings, CLI; Qt only in ``desktop.ui``."""
