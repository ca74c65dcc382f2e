"""Benchmarks: training speed against the release's design (``make bench``) and accuracy (``make bench-accuracy``)."""
