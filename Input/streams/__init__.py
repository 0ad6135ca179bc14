"""The training streams: their settings and excerpt layout (``settings``), excerpts read from the files
(``files``) or cut from spectrograms held in memory (``memory``), a tf.data service that runs them on other
cores or machines (``service``), and the training input that composes them (``training_input``)."""
