"""A @profile generator consumed by an undecorated loop.

Every item suspends and resumes the profiled frame: the line profiler has to
end the line's interval at each yield and pick the frame up again at each
resume, while the consumer's lines are not profiled.
"""
try:
    profile
except NameError:  # plain python: the decorator does nothing
    def profile(func):
        return func

N = 300_000


@profile
def readings(n):
    """A noisy signal (Park-Miller generator), smoothed, one value per step."""
    level = 0.0
    state = 1
    for _ in range(n):
        state = (state * 48271) % 2147483647
        noise = state / 2147483647.0 - 0.5
        level = 0.9 * level + 0.1 * noise
        yield level


def main(n=N):
    peaks = 0
    total = 0.0
    for value in readings(n):
        total += value
        if value > 0.05:
            peaks += 1
    return peaks, round(total, 6)


if __name__ == "__main__":
    print(main())
