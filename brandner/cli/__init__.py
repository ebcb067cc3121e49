"""The ``brandner`` command line: one module per command, each a thin wrapper."""
