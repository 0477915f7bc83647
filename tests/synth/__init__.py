"""Tests of the stage runtime: control surface, grains engine, voice, processes, outputs."""
