"""Privacy: a user's data export, erasure that leaves nothing behind, and retention of logs."""
