"""Benchmarks for pumpsim (run with ``./dev bench`` or ``python -m benchmarks``).

Figures are printed as ratios against baselines measured in the same process on
the same stroke stream, never asserted in tests (machines differ).
"""
