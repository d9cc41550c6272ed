"""Particle trees as regular expressions over element positions (EXI §8.5.4.2 normalisation
is the subset construction over these sets, done in grammar.py).

Nodes: ("leaf", position), ("seq", [nodes]), ("alt", [nodes]), ("opt", node), ("star", node).
"""
from __future__ import annotations


def analyse(node: tuple, npos: int):
    """Glushkov sets of a particle tree: (nullable, first, last, follow per position)."""
    follow: list[set[int]] = [set() for _ in range(npos)]

    def walk(n: tuple) -> tuple[bool, set[int], set[int]]:
        kind = n[0]
        if kind == "leaf":
            return False, {n[1]}, {n[1]}
        if kind == "opt":
            _, f, l = walk(n[1])
            return True, f, l
        if kind == "star":
            _, f, l = walk(n[1])
            for p in l:
                follow[p] |= f
            return True, f, l
        if kind == "alt":
            res = [walk(c) for c in n[1]]
            return (any(r[0] for r in res), set().union(*(r[1] for r in res)),
                    set().union(*(r[2] for r in res)))
        # seq
        nullable, first, last = True, set(), set()
        for c in n[1]:
            cn, cf, cl = walk(c)
            for p in last:
                follow[p] |= cf
            if nullable:
                first |= cf
            last = cl | (last if cn else set())
            nullable = nullable and cn
        return nullable, first, last

    nullable, first, last = walk(node)
    return nullable, first, last, follow
