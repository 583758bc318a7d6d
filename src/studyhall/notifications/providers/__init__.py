"""Adapters that speak to the outside world for notifications (SMS gateways)."""
