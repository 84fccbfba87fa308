"""Benchmark scripts: they print comparison tables and are never part of pytest's pass/fail."""
