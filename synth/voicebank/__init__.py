"""Streaming generator banks for exported voices (SampleRNN, WaveNet), their kernels, sampling."""
