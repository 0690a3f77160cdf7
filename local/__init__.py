"""Runs the whole platform on one machine: servers, gateway, broker and scheduler."""
