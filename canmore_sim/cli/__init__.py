"""The ``canmore-sim`` command: parser, commands, help, progress bar, output folders."""
