"""The hash-chained event log and webhook deliveries."""
