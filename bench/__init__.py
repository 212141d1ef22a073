"""Load generation and the benchmark suite (issue 5). Not imported by the OMS itself."""
