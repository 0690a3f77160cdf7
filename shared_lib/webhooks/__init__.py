"""Outgoing webhooks: signing, transport and the delivery queue, one module each."""
