"""Built-in adapters, one module per upstream format; each registers itself on import."""
