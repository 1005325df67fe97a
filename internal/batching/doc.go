// Package batching is gobento's adaptive batching dispatcher: it merges
// concurrent calls into batches for a model, bounds each call's latency, and
// sheds calls it predicts cannot make that bound. It is type-agnostic
// (generic over the item and output types) and knows nothing of HTTP or
// Prometheus; events reach metrics through an [Observer].
//
// # Shape
//
// A [Dispatcher] has one FIFO queue of items guarded by a mutex and
// Config.Workers worker goroutines, so at most Workers batches run at once.
// Decisions are taken under the mutex whenever something changes: a call
// arrives ([Dispatcher.Submit]), a batch finishes (its worker then takes the
// next one), or a single timer fires for a decision that is due later. There
// is no goroutine per call or item: a call costs a mutex round trip and a
// wake-up of its caller (plus one of an idle worker), and call and batch
// records are pooled, so the dispatcher itself allocates nothing per call.
//
// When the workers can occupy every P (GOMAXPROCS ≤ Workers, as in a 1-CPU
// container with a CPU-bound Go model), a worker that finishes a batch
// yields (runtime.Gosched) before it takes the next one, so that the
// callers it just released get their results and, if they loop, resubmit
// in time to join the next batch; until it is back it counts as busy, and a
// call arriving to an empty queue meanwhile still counts as an idle
// arrival. Without the yield, at GOMAXPROCS 1, batches formed from whoever
// happened to be queued (a quarter of MaxBatchSize in the package's test,
// 0.68 of the ideal throughput in the load benchmark).
//
// A batch takes the oldest queued items, at most MaxBatchSize (inclusive).
// A call larger than MaxBatchSize is split over several batches in order;
// several calls may share a batch; each caller gets exactly its own outputs
// back, in order.
//
// # Cost model
//
// The run time of a batch of n items is modelled as a·n + b, fitted by
// ordinary least squares over the last 50 successful batches after every
// batch (an O(50) refit), with a clamped to a tiny positive value and b to
// ≥ 0. Until the window holds two distinct batch sizes the prior a = 0,
// b = mean duration applies, and with no data at all every prediction is 0,
// so an untrained dispatcher never waits and never sheds.
//
// The arrival rate λ (items per second) is an EWMA over the gaps between
// calls. At each decision it uses the largest of the average gap, the gap
// before the newest call and the time since the newest call, so a quiet
// spell counts as "no traffic" at once. With fewer than two calls seen there
// is no evidence of traffic and λ = 0.
//
// # Dispatch rule
//
// When a worker is free and items are queued (Q of them, the oldest queued
// at t0, L = MaxLatency), the dispatcher decides in this order:
//
//  1. Q ≥ MaxBatchSize: dispatch MaxBatchSize items ([ReasonFull]).
//  2. now ≥ t0 + L − predict(Q) − slack, where slack = min(L/10, 1 ms): the
//     oldest item would miss its deadline if it waited longer; dispatch now
//     ([ReasonDeadline]).
//  3. The oldest call arrived to an idle dispatcher (empty queue, no batch
//     in flight) and is alone in the queue: dispatch it now ([ReasonCost]).
//     Nothing suggests more work is coming, so waiting could only add
//     latency; a closed-loop caller, whose next request always follows the
//     previous answer, never waits even though the rate estimate is high.
//  4. Otherwise compute the target batch size n*: the smallest n whose
//     amortised cost keeps up with the arrivals on all workers at 80 %
//     utilization, λ·(a·n + b)/n ≤ 0.8·Workers, i.e.
//     n* = ⌈λ·b / (0.8·Workers − λ·a)⌉ clamped to [1, MaxBatchSize]
//     (MaxBatchSize when no size keeps up). If Q ≥ n*, waiting no longer
//     pays off: dispatch now ([ReasonCost]). With no evidence of traffic
//     n* = 1, so a single request reaching an idle dispatcher is dispatched
//     at once, with no added wait.
//  5. Otherwise wait (cork) for more items, but never beyond the earliest of
//     the deadline of rule 2, t0 + predict(n*) (a batch is not held longer
//     than it is expected to run, which is what a busy worker would have
//     made the items wait anyway), and the moment the falling rate estimate
//     stops justifying n* > Q. Reaching either of the last two dispatches
//     with [ReasonCost]. Every arrival re-runs the rule.
//
// While every worker is busy, items simply accumulate; a worker that
// finishes takes the next batch at once under the same rule, so under
// saturation batches fill up to MaxBatchSize by themselves. A stopping
// dispatcher dispatches whatever is queued ([ReasonDrain]).
//
// # Shedding
//
// While every worker is busy and the model has data, the oldest call is
// shed, and its caller gets [ErrShed] at once, exactly when it could no
// longer finish within L: it can start no earlier than the first worker is
// predicted to free up (each batch in flight ends at its dispatch time plus
// predict(its size)), so it is shed when max(now, first free) + predict(n)
// > t0 + L − slack, with n = min(Q, MaxBatchSize) the batch it would join
// and slack = min(L/10, 1 ms) kept free for scheduling jitter the model
// cannot see (without it, calls admitted at the limit finished up to a few
// milliseconds late under overload). The check repeats
// for the next oldest call (shedding one call shrinks n, which may save the
// next). A timer fires at the predicted instant, so shedding happens then,
// not at the next arrival. All of a call's items share its enqueue time, so
// a split call is shed as a whole; parts already running are discarded.
// Calls are never shed while a worker is free: the deadline rule has
// dispatched them before, and a model that has turned pessimistic still
// gets fresh batches to learn from. Nothing is shed when batching is
// disabled or while stopping.
//
// # Differences from BentoML 1.x
//
// BentoML's CORK dispatcher caps a batch at max_batch_size−1, pops the
// newest requests (LIFO), never serves a request of exactly max_batch_size
// items, refits at most every 5 s, runs one batch at a time and corks only
// on the learned mean wait. This package serves oldest first, includes
// MaxBatchSize, splits larger calls, refits after every batch, runs up to
// Workers batches at once, and corks from the measured arrival rate.
package batching
