"""Helpers under every stage and wing: atomic files, the cache, process memory, the
plug-in registries and progress events."""
