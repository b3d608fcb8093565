"""The registry's operations as plain functions over a ``Registry`` (store + objects + actor).

Every front end (CLI, SDK, server) calls these; they never print and never read the environment.
"""
