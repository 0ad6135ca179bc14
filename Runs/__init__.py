"""What a training run needs around the model: its folder and the lookup of past runs (``folders``), Sacred's
observers and the MongoDB replay (``observers``, ``mongo_replay``), resumable checkpoints (``checkpoint``), the
Keras callbacks (``callbacks``) and the cluster of a multi-worker run (``cluster``)."""
