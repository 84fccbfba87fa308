"""`python -m stacked_keras` is the `stacked-keras` command."""

from stacked_keras.cli import main

raise SystemExit(main())
