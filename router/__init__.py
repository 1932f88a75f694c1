"""Router: applies the tier policy to every reported dispute and names who mediates it."""
