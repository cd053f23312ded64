"""What the bench scripts share: the release binary they measure and the sizes they are given."""

import os
import sys


def require_binary(path):
    """The absolute path of an executable batchflow binary, or exit saying how to build it."""
    binary = os.path.abspath(path)
    if not os.access(binary, os.X_OK):
        sys.exit(f"no batchflow binary at {path}: build it first with `cargo build --release` "
                 "(or pass --binary PATH)")
    return binary


def parse_sizes(text):
    """`1000,10k,1m` -> [1000, 10000, 1000000]; exits on a size that is not a number."""
    sizes = []
    for s in text.split(","):
        s = s.strip().lower().replace("_", "")
        mult = 1
        if s.endswith("k"):
            s, mult = s[:-1], 1_000
        elif s.endswith("m"):
            s, mult = s[:-1], 1_000_000
        try:
            sizes.append(int(float(s) * mult))
        except ValueError:
            sys.exit(f"--sizes: `{s}` is not a number")
    return sizes


def human(n):
    """10000 -> 10k, 1000000 -> 1M, for table rows."""
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)
