"""Benchmarks run by ``make bench`` (``python tools/bench.py``)."""
