"""One process of the multi-worker test: run_fn on transformed data, its role from TF_CONFIG.

python -m tests.e2e.distributed_worker '{"transform_dir": ..., "examples_dir": ...,
    "schema_dir": ..., "working_dir": ..., "config": {...}}'
"""

import json
import sys

from components.modules.training import run_fn
from tests.components.modules import transformed_data as td


def main() -> None:
    spec = json.loads(sys.argv[1])
    data = td.TransformedData(
        train=None,
        eval=None,
        transform_dir=spec["transform_dir"],
        examples_dir=spec["examples_dir"],
        schema_dir=spec["schema_dir"],
    )
    run_fn(td.fn_args(data, spec["working_dir"], spec["config"]))


if __name__ == "__main__":
    main()
