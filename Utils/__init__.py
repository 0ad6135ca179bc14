"""Utilities that know nothing of the model or the runs: reading and writing audio (``audio``,
``audio_writer``), the STFT and the log1p normalisation (``spectral``) with its FFTs (``fft``), files
written whole (``files``), processes (``process``), the machine (``hardware``), TensorFlow's native
start-up lines (``native_logs``) and the config's value checks (``config_check``)."""
