"""Viewers of a room: who arrives, what they do, and buyers who come back."""
