"""Rankings: trending, and recommendations for one reader."""
