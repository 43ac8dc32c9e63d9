"""Benchmark decontamination: `config` (the YAML section), `engine` (n-gram index and matching), `stage`."""
