"""deepnote's stage runtime: audio engine, control surface and inference workers."""

__version__ = "0.1.0"
