"""Saving and loading models safely, in a package directory whose manifest records the flavor,
the signature and every file's digest; MLflow model directories load too. Flavors are plugins
(``Flavor``, registered in ``registry``): the built-ins, then the ``mlpipex.flavors`` entry
points of installed packages."""

from mlpipex.flavors.base import Flavor, PackageInfo, Trust
from mlpipex.flavors.load import FrameworkVersionWarning, LoadedModel, load_model
from mlpipex.flavors.package import read_input_example, read_package, verify_package
from mlpipex.flavors.python import PythonModel, PythonModelContext, set_model
from mlpipex.flavors.registry import ENTRY_POINT_GROUP, registered
from mlpipex.flavors.save import save_model
from mlpipex.flavors.signature import ColumnSpec, Signature, infer_signature, validate_input

__all__ = [
    "ENTRY_POINT_GROUP",
    "ColumnSpec",
    "Flavor",
    "FrameworkVersionWarning",
    "LoadedModel",
    "PackageInfo",
    "PythonModel",
    "PythonModelContext",
    "Signature",
    "Trust",
    "infer_signature",
    "load_model",
    "read_input_example",
    "read_package",
    "registered",
    "save_model",
    "set_model",
    "validate_input",
    "verify_package",
]
