"""Putting "Describe with Sightline" into the user's file manager, and taking it out again.

Qt-free so the CLI, the installers and the window's Settings share one code path:
each OS module computes a :class:`~desktop.integrate.plan.Plan` (pure data, so every
OS's plan can be inspected and tested on any OS) and :mod:`desktop.integrate.installer`
applies, removes or checks it on the running machine.
"""
