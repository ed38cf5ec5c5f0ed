"""Planning speed of the pure DAG module (workflows/dag.py): a 50,000-node chain and a random
50,000-node DAG with ~100,000 edges, the shapes workflows/tests/test_dag.py checks for correctness.

    .venv/bin/python bench/dag_plan.py [--nodes 50000] [--edges 100000] [--rounds 5]

Prints the best and median time of each shape over the rounds. No Django, no database.
"""

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from workflows import dag  # after the path insert, so it runs from a checkout


def shapes(n: int, edge_count: int):
    chain = [f"c{i}" for i in range(n)]
    chain_edges = [(chain[i], chain[i + 1]) for i in range(n - 1)]
    rng = random.Random(42)
    nodes = [f"r{i}" for i in range(n)]
    dag_edges = []
    for _ in range(edge_count):
        a, b = rng.randrange(n), rng.randrange(n)
        if a != b:
            dag_edges.append((nodes[min(a, b)], nodes[max(a, b)]))
    rng.shuffle(nodes)
    return {"chain": (list(reversed(chain)), chain_edges), "random DAG": (nodes, dag_edges)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=50_000)
    parser.add_argument("--edges", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for name, (nodes, edges) in shapes(args.nodes, args.edges).items():
        times = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            dag.plan(nodes, edges)
            times.append(time.perf_counter() - started)
        print(f"{name:>10}: {len(nodes):,} nodes, {len(edges):,} edges: "
              f"best {min(times) * 1000:.0f} ms, median {statistics.median(times) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
