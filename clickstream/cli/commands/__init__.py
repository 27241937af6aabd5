"""One module per command of the ``clickstream`` command line (see clickstream/cli/__init__.py)."""
