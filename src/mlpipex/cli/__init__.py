"""The ``mlpipex`` command line: thin typer commands over the service layer and the SDK."""
