"""The control surface: OSC addresses, datagram checks, the listener process, presets and scores."""
