"""One module per command of the ``clickstream`` command line (see clickstream/cli.py)."""
