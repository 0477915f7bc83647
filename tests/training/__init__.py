"""Tests of the training package: datasets, networks, loops, evaluation and export."""
