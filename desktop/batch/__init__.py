"""Many files, one question each: the engine behind ``sightline batch`` and the batch view.

Qt-free, so the command line and the window run the same code. The model is
loaded once; a producer thread decodes and downscales the next files while
the model answers the current one, and each file is a fresh conversation.
"""
