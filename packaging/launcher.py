"""The frozen program's entry point: the same ``main`` the ``sightline`` script runs."""

from desktop.cli.main import main

raise SystemExit(main())
