"""The chaos suite: a recorded writer, faults, and a checker (`bench/run.py chaos`)."""
