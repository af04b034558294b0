"""What models exist on each side and how each source loads them."""
