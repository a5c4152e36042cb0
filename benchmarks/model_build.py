"""Model build and weight quantization of the headline's network, each run in a fresh process.

Times, in a fresh Python process per repeat (so that first touches of fresh memory count as
in a real run; inside :func:`canmore_sim.utils.memory.tune_process`, as the CLI runs), the wall and
CPU time of

* ``synthetic_graph`` (calibrated offsets from the on-disk cache, as in the headline after
  its first run; the first repeat calibrates if the cache is empty),
* ``quantize_graph(..., compact=True)`` three times in the process (the pipeline's call),
* decoding every compact layer to float32 and to float64 (what the neuron simulation reads),

and prints the best and median over the repeats with the peak resident memory, and a
SHA-256 prefix of the weights, the codes and the decoded values (equal before and after a
change that keeps the numbers).

    .venv/bin/python benchmarks/model_build.py [--model vgg16] [--bits 4] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

_CHILD = r"""
import hashlib, json, resource, sys, time
from canmore_sim.utils.memory import tune_process

def clock():
    return time.perf_counter(), time.process_time()

def since(start):
    wall, cpu = clock()
    return wall - start[0], cpu - start[1]

model, bits = sys.argv[1], int(sys.argv[2])
with tune_process():
    import numpy as np
    from canmore_sim.cores.calibrate import synthetic_graph
    from canmore_sim.models.quantize import quantize_graph
    from canmore_sim.models.zoo import ZOO
    start = clock()
    graph = synthetic_graph(ZOO[model], firing_rate=0.25, seed=0, name=model)
    out = {"build": since(start), "quantize": []}
    for _ in range(3):
        start = clock()
        compact = quantize_graph(graph, bits, compact=True)
        out["quantize"].append(since(start))
    for name, dtype in (("decode32", np.float32), ("decode64", np.float64)):
        start = clock()
        values = [layer.weight_values(dtype) for layer in compact.layers]
        out[name] = since(start)
        if name == "decode32":
            decoded = hashlib.sha256(b"".join(v.tobytes() for v in values)).hexdigest()[:16]
        del values
    weights = hashlib.sha256(b"".join(l.weight.tobytes() for l in graph.layers))
    codes = hashlib.sha256(b"".join(l.codes.codes.tobytes() + l.codes.scale.tobytes()
                                    for l in compact.layers))
    out["sha256"] = {"weights": weights.hexdigest()[:16], "codes": codes.hexdigest()[:16],
                     "decoded": decoded}
    out["weights"] = int(sum(l.weight.size for l in graph.layers))
    out["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
"""


def _run(model: str, bits: int) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-c", _CHILD, model, str(bits)], capture_output=True,
                          text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="vgg16", help="zoo network (default vgg16)")
    parser.add_argument("--bits", type=int, default=4, help="weight bits (default 4)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes (default 3)")
    args = parser.parse_args()
    runs = [_run(args.model, args.bits) for _ in range(max(1, args.repeat))]
    print(f"{args.model}, {runs[0]['weights']:,} weights, {args.bits}-bit compact codes; "
          f"{len(runs)} fresh process(es)")
    print(f"{'step':<36}{'best s':>9}{'median s':>10}{'best cpu s':>12}")
    rows = {"synthetic_graph (cached offsets)": [r["build"] for r in runs],
            "quantize_graph, 1st in process": [r["quantize"][0] for r in runs],
            "quantize_graph, best of 3": [min(r["quantize"]) for r in runs],
            "decode all layers, float32": [r["decode32"] for r in runs],
            "decode all layers, float64": [r["decode64"] for r in runs]}
    for label, times in rows.items():
        walls, cpus = [t[0] for t in times], [t[1] for t in times]
        print(f"{label:<36}{min(walls):9.3f}{statistics.median(walls):10.3f}{min(cpus):12.3f}")
    print(f"peak RSS {max(r['max_rss_mb'] for r in runs):.0f} MB; sha256 "
          + ", ".join(f"{k} {v}" for k, v in runs[0]["sha256"].items()))


if __name__ == "__main__":
    main()
