"""``python -m clickstream.cli``: the same as the ``clickstream`` command."""

from clickstream.cli import main

raise SystemExit(main())
