"""The Faust plumbing of the worker: the aiokafka transport it tunes, the lean monitor, the
consumer's metrics, the worker's own Prometheus metrics and the progress behind ``/healthz``."""
