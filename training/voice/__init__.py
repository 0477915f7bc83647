"""The conditioned voices (SampleRNN, WaveNet): note data, networks, generation, eval, export."""
