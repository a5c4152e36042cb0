"""The map run over chunks of frames: the task, chunk files, the merge and the timing parts."""
