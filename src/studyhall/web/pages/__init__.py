"""Page routes, one module per journey."""
