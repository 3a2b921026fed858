"""The unified urban-rural house code (docs/house-code.md) and its lifecycle."""
