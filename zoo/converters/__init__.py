"""Converters: load one checkpoint into both frameworks so a pair can share weights."""
