"""Executors: a local process pool (default) and Ray; one task per input file, completion markers."""
