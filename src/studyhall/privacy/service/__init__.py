"""Privacy business rules: export, erasure, retention (no HTTP here)."""
