def queue_figures() -> dict:
    """Queue length and runners online; filled in by the execution engine."""
    return {"queue_length": 0, "runners_online": 0}
