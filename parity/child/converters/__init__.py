"""Converters' framework halves: building a model from another framework's checkpoint."""
