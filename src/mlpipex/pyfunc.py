"""What a model code file imports: subclass ``PythonModel``, end with ``set_model(MyModel())``."""

from mlpipex.flavors.python import PythonModel, PythonModelContext, set_model

__all__ = ["PythonModel", "PythonModelContext", "set_model"]
