"""Google: OAuth consent and tokens, calendar event sync and free/busy, spoken over HTTP."""
