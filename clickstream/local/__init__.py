"""The local runtime: the same ASL and handlers on one machine (moto, pgserver)."""
