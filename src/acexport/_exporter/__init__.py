"""The segment exporter: a pure planning pipeline and its sync/async senders."""
