"""What the shipped model files and their cards promise, checked on the files themselves."""
