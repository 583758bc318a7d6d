"""Pure calendar computation: RFC 5545 recurrence rules and their expansion into intervals."""
