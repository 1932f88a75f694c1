"""What the three web consoles share: one translation table, the page layout and its assets."""
