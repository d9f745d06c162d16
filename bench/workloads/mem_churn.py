"""Allocation-heavy pure Python: memory rises and falls over and over.

Each step builds a table of small dicts, a list of lists, an index keyed by
strings and one long joined string, uses them, then drops them all.  The size
of a step follows a sawtooth (10 sizes, smallest to largest, then again), so
the footprint climbs to about 130 MB and falls back every ten steps.  The
result is a checksum, the same in every run.
"""

STEPS = 20
BASE = 14_000


def build(n):
    rows = [{"id": i, "name": "item-%d" % i, "tags": [i, i + 1, i + 2]} for i in range(n)]
    index = {row["name"]: row for row in rows}
    grid = [list(range(i % 50, i % 50 + 40)) for i in range(n)]
    text = ",".join(row["name"] for row in rows)
    return rows, index, grid, text


def use(rows, index, grid, text):
    total = len(text)
    for row in rows[::7]:
        total += index[row["name"]]["tags"][2]
    for cells in grid[::11]:
        total += cells[-1] - cells[0]
    return total


def main():
    checksum = 0
    for step in range(STEPS):
        n = BASE * (1 + step % 10)
        rows, index, grid, text = build(n)
        checksum = (checksum * 31 + use(rows, index, grid, text)) % 1_000_000_007
        del rows, index, grid, text
    return checksum


if __name__ == "__main__":
    print(main())
