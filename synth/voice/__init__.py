"""The voice instrument at run time: notes, MIDI input, the voice worker, its ring and writer."""
