"""Object-oriented code: a small discrete-event simulation of a post office.

Customers arrive, queue at counters, are served and leave.  The hot path is
method calls, property reads, __init__, __lt__ (heap ordering), inheritance
and super() -- the call mix of typical application code.
"""
import heapq

N_CUSTOMERS = 110_000
N_COUNTERS = 4
SEED = 2024


class Rng:
    """A tiny linear congruential generator (deterministic, no C calls)."""

    def __init__(self, seed):
        self._state = seed

    def next(self):
        self._state = (self._state * 1103515245 + 12345) & 0x7FFFFFFF
        return self._state

    def uniform(self, lo, hi):
        return lo + (hi - lo) * (self.next() / 0x7FFFFFFF)


class Event:
    __slots__ = ("time", "seq")
    _counter = 0

    def __init__(self, time):
        self.time = time
        Event._counter += 1
        self.seq = Event._counter

    def __lt__(self, other):
        if self.time != other.time:
            return self.time < other.time
        return self.seq < other.seq

    def fire(self, sim):
        raise NotImplementedError


class Arrival(Event):
    __slots__ = ("customer",)

    def __init__(self, time, customer):
        super().__init__(time)
        self.customer = customer

    def fire(self, sim):
        sim.office.arrive(self.customer, self.time, sim)
        sim.source.next_arrival(self.time, sim)


class Departure(Event):
    __slots__ = ("counter",)

    def __init__(self, time, counter):
        super().__init__(time)
        self.counter = counter

    def fire(self, sim):
        self.counter.finish(self.time, sim)


class Customer:
    def __init__(self, ident, arrival, work):
        self.ident = ident
        self.arrival = arrival
        self.work = work
        self.started = None
        self.finished = None

    @property
    def waited(self):
        return self.started - self.arrival

    @property
    def total(self):
        return self.finished - self.arrival


class Counter:
    def __init__(self, ident, speed):
        self.ident = ident
        self.speed = speed
        self.current = None
        self.served = 0
        self.busy_time = 0.0

    @property
    def idle(self):
        return self.current is None

    def service_time(self, customer):
        return customer.work / self.speed

    def start(self, customer, now, sim):
        customer.started = now
        self.current = customer
        duration = self.service_time(customer)
        self.busy_time += duration
        sim.schedule(Departure(now + duration, self))

    def finish(self, now, sim):
        customer = self.current
        customer.finished = now
        self.current = None
        self.served += 1
        sim.office.done(customer)
        sim.office.next_customer(self, now, sim)


class FastCounter(Counter):
    """A counter that is quicker for small jobs."""

    def service_time(self, customer):
        base = super().service_time(customer)
        return base * 0.5 if customer.work < 1.0 else base


class Office:
    def __init__(self, counters):
        self.counters = counters
        self.queue = []
        self.head = 0
        self.finished = []

    @property
    def queue_length(self):
        return len(self.queue) - self.head

    def free_counter(self):
        for counter in self.counters:
            if counter.idle:
                return counter
        return None

    def arrive(self, customer, now, sim):
        counter = self.free_counter()
        if counter is None:
            self.queue.append(customer)
        else:
            counter.start(customer, now, sim)

    def next_customer(self, counter, now, sim):
        if self.queue_length > 0:
            customer = self.queue[self.head]
            self.head += 1
            counter.start(customer, now, sim)

    def done(self, customer):
        self.finished.append(customer)


class Source:
    """Generates customers one at a time: each arrival schedules the next."""

    def __init__(self, rng, n_customers):
        self.rng = rng
        self.remaining = n_customers
        self.next_id = 0

    def next_arrival(self, now, sim):
        if self.remaining == 0:
            return
        self.remaining -= 1
        when = now + self.rng.uniform(0.0, 0.9)
        customer = Customer(self.next_id, when, self.rng.uniform(0.2, 3.0))
        self.next_id += 1
        sim.schedule(Arrival(when, customer))


class Simulation:
    def __init__(self, office, source):
        self.office = office
        self.source = source
        self.events = []
        self.now = 0.0

    def schedule(self, event):
        heapq.heappush(self.events, event)

    def run(self):
        while self.events:
            event = heapq.heappop(self.events)
            self.now = event.time
            event.fire(self)


def main():
    rng = Rng(SEED)
    counters = [Counter(i, 1.0) for i in range(N_COUNTERS - 1)]
    counters.append(FastCounter(N_COUNTERS - 1, 1.2))
    sim = Simulation(Office(counters), Source(rng, N_CUSTOMERS))
    sim.source.next_arrival(0.0, sim)
    sim.run()
    finished = sim.office.finished
    mean_wait = sum(c.waited for c in finished) / len(finished)
    mean_total = sum(c.total for c in finished) / len(finished)
    return len(finished), round(mean_wait, 3), round(mean_total, 3)


if __name__ == "__main__":
    print(main())
