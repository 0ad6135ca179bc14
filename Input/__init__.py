"""Everything before the model, in three packages: ``datasets`` (the datasets on disk, their tracks and the
paper's partitions), ``streams`` (the training batches made from them) and ``demo`` (the built-in demo corpus
generator, which writes files in the datasets' layouts; training reads them as it reads real data)."""
