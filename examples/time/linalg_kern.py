"""linalg.py with a bare @profile on make_sparse, for a line-by-line look.

    profkit lines examples/time/linalg_kern.py
"""
import numpy as np
import scipy.linalg

SIZE = 100
SPARSITY = 0.95
SEED = 12345


@profile  # noqa: F821
def make_sparse(matrix, rng):
    """Zero out SPARSITY of the entries of `matrix` (slowly), in place."""
    n_rows, n_cols = matrix.shape
    n_zero = int(SPARSITY * n_rows * n_cols)
    chosen = rng.choice(n_rows * n_cols, size=n_zero, replace=False)
    doomed = list(chosen)  # a list, so every `in` below scans it
    for i in range(n_rows):
        for j in range(n_cols):
            if i * n_cols + j in doomed:
                matrix[i, j] = 0.0
    return matrix


def build_matrices(seed=SEED, size=SIZE, sparsify=make_sparse):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((size, size))
    b = rng.standard_normal((size, size))
    return sparsify(a, rng), sparsify(b, rng)


def compute(a, b):
    product = a @ b
    total = a + b
    expo = scipy.linalg.expm(total / np.abs(total).max())
    inverse = np.linalg.inv(product + np.eye(product.shape[0]) * product.shape[0])
    result = expo @ inverse
    return {
        "mean": float(result.mean()),
        "std": float(result.std()),
        "max": float(result.max()),
        "min": float(result.min()),
        "nonzero": int(np.count_nonzero(a) + np.count_nonzero(b)),
    }


def main():
    a, b = build_matrices()
    stats = compute(a, b)
    for name, value in stats.items():
        print(f"{name:>8}: {value}")


if __name__ == "__main__":
    main()
