"""Saving and loading models safely: sklearn (skops), onnx and code-based python models, in a
package directory whose manifest records the signature and every file's digest; MLflow model
directories load too."""

from mlpipex.flavors.base import PackageInfo
from mlpipex.flavors.load import LoadedModel, load_model
from mlpipex.flavors.package import read_input_example, read_package, verify_package
from mlpipex.flavors.python import PythonModel, PythonModelContext, set_model
from mlpipex.flavors.save import FLAVORS, save_model
from mlpipex.flavors.signature import ColumnSpec, Signature, infer_signature, validate_input

__all__ = [
    "FLAVORS",
    "ColumnSpec",
    "LoadedModel",
    "PackageInfo",
    "PythonModel",
    "PythonModelContext",
    "Signature",
    "infer_signature",
    "load_model",
    "read_input_example",
    "read_package",
    "save_model",
    "set_model",
    "validate_input",
    "verify_package",
]
