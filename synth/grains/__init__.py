"""The grain instrument at run time: latent space, decoding worker, tables, the granulators."""
