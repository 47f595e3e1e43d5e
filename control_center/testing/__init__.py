"""Helpers for tests and benchmarks (throwaway database servers); not used at run time."""
