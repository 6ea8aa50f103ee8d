"""The geometric GNN dojo: geometric Weisfeiler-Leman tests, certified counterexamples and a model zoo."""

__version__ = "0.1.0"
