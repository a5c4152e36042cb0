"""Tasks on a pool: the executor (this process, local worker processes, Dask) and the workers."""
