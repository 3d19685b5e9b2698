"""DL Studio."""
