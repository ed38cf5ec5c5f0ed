"""Writes of the workflows app, one module per concern: publishing, runs, task outcomes."""
