"""Outgoing webhooks for integrators: endpoints, event filters, signed deliveries."""
