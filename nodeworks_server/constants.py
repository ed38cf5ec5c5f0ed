"""Names every app shares, kept here so that none has to import another for them."""

# The executors a node may ask for and a runner may offer (docs/executors.md).
EXECUTORS = ("local", "shell", "container", "slurm", "kubernetes")
