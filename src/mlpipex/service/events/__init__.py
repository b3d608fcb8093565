"""The audit chain and what follows an event out of the registry: webhooks, guarded egress."""
