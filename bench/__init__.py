"""petset's benchmarks and chaos suite (`bench/run.py`); not part of the installed package."""
