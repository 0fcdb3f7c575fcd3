"""Benchmarks (`probatio bench NAME`): each measures probatio against a baseline measured in the same
run, prints one `ratio: X` line last, and records its numbers and the machine in bench/RESULTS.md."""
