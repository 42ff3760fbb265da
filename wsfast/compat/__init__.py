"""Drop-in replacements for the APIs of other WebSocket accelerators."""
