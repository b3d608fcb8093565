"""Data versioning in git, as DVC does: pointer files, a workspace cache, remotes and pipelines.

One module per operation: ``add``, ``status``, ``checkout``, ``transfer`` (push, fetch,
pull), ``gc``, ``repro``; shared pieces: ``workspace``, ``statcache``, ``build``, ``link``,
``settings``.
"""
