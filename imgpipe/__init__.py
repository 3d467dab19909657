"""The ``imgpipe`` command line: a thin layer over the local runtime in ``shared``."""
