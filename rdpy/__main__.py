"""`python -m rdpy` runs the `rdpy` command line."""

from rdpy.cli import main

raise SystemExit(main())
