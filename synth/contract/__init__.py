"""The model-file contract: metadata, format version, TorchScript loading (training uses it too)."""
