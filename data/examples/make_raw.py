"""Write the example raw export (data/examples/raw/) from the demo district (data/demo/).

    .venv/bin/plan-metrics demo-data --out data/demo --size small
    .venv/bin/python data/examples/make_raw.py [DATA_DIR [OUT]]
    .venv/bin/plan-metrics import --mapping data/examples/mapping.yaml \
        --source data/examples/raw --out data/imported

The raw export is generated, not committed (about 30 MB); see plan_metrics.importing.example.
"""

import sys
from pathlib import Path

from plan_metrics.importing.example import write_raw_export

here = Path(__file__).resolve().parent
data_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else here.parent / "demo"
out = Path(sys.argv[2]) if len(sys.argv) > 2 else here / "raw"
for name, rows in write_raw_export(data_dir, out).items():
    print(f"  {name:36s} {rows:>10,} rows")
print(f"Raw export written to {out}")
