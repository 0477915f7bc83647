"""What every model's training shares: the loop, checkpoints, run folders, plots, audio files."""
