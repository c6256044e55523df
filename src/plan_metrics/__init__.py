"""plan-metrics: measures of success of a school district's strategic plan, computed per school year."""

import sys

__version__ = "0.1.0"

# jsonschema, which Altair imports, loads rfc3987_syntax when it is installed (Jupyter's extras
# install it) to check the "iri" string format, and that module builds a parser grammar at import:
# 1.5 s of every CLI call, compute kernel and dashboard kernel (Altair's import 2.5 s -> 0.7 s).
# No schema this package validates uses that format; without the module jsonschema skips it.
sys.modules.setdefault("rfc3987_syntax", None)
