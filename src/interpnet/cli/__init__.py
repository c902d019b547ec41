"""The ``interpnet`` command line."""
