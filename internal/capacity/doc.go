// Package capacity finds the highest open-model rate a target sustains
// while meeting its objectives, the knee where its latency turns upward,
// and the resource that stops it there.
//
// A search is a controller over ONE run session: the session runs an open
// model whose rate Search changes live with Adjust, and every judgement is
// made on the merged snapshots the session publishes (Live). There is no
// second engine.
//
//	res, err := capacity.Search(ctx, sess, capacity.Options{SLO: slo, Start: 10, Max: 2000})
//
// Rates are iterations/s, as the open model offers them: for a flow of
// one request the same as requests/s; for a flow of several (a POST and
// its polls, a login then a page) every figure held against a rate is in
// iterations too — the achieved iterations/s (Step.AchievedIPS, from the
// snapshots' Iterations), the finished iterations against the due ones
// (Due), the plateau (Result.PlateauIPS) — while the requests/s are kept
// beside them (AchievedRPS, PlateauRPS) and shown where they differ.
//
// The algorithm, with the defaults of Options:
//
//  1. Warm-up: the start rate is held for Warmup (3s), unjudged, so that
//     connections are open and caches warm.
//  2. Growth: steps at Start, Start×Growth, Start×Growth², … (Growth 2)
//     until a step fails an objective or Max is reached.
//  3. Bisection between the last passing rate and the first failing one,
//     until they are within Precision (5 %) of the passing one.
//  4. Confirmation: the highest passing rate is held again for Confirm
//     (8s); if it fails there, the search steps down by half the
//     Precision and confirms again (at most three times; a confirmation the generator
//     limited is held again at the same rate).
//
// Every step sets the rate, waits Settle (2s) so that the previous step's
// in-flight requests drain out of the figures, then judges a steady window
// of Window (4s): the window's snapshots are added (metrics.Add) and each
// objective (metrics.Threshold, the threshold grammar of --threshold) is
// measured on the merged sketch — exact percentiles of the window, never
// an average of intervals. A window is steady when its second half's
// median latency is not above 1.25× its first half's plus 2 ms (or stays
// under 1.5× the baseline's median); a window that passes while its
// latency still climbs is held for one more Window, and fails if it is
// still climbing: a queue that grows for the whole step is a rate above
// capacity, whatever the p99 said so far. A window also fails when fewer
// iterations finished in it than fell due (Due − Iterations above 5 % of
// Due, 3 iterations, and the rate × the baseline's iteration time past the
// settle time, which a rate change leaves in flight): iterations pile up,
// whatever their requests' percentiles say — the backlog of a
// queue-backed API whose POST answers at once.
//
// A step stops early when it is clearly failing: the latency objective's
// value rose over three consecutive intervals while above its bound, or
// sat above three times the bound in the last two; or the error rate was
// above max(5× the bound, bound + 10 points) in the last two intervals.
// After a step that failed (or ended with latency well above the
// baseline), the rate drops to the start rate until an interval's p99 is
// back within 2× the baseline's (plus 5 ms), for at most Recover (10s), so
// that one step's backlog does not fail the next.
//
// The generator is never the answer. A step that failed, or achieved less
// than 95 % of its rate (iterations/s), is limited by the generator when its start lag's
// p99 exceeds max(10 ms, 10 % of the tightest latency bound) and explains
// at least half of the p99's rise over the baseline (only when a latency
// objective failed) while the VU pool had room, when the generator's
// scheduling latency (its goroutines waiting, runnable, for its own CPU:
// responses read late) has a p99 past the same limit that explains half
// of that rise — alone, or added to the start lag's p99 while the pool
// had room (a latency objective failed; the pool full or not, as late
// reads hold VUs) — when iterations were dropped while it
// had room, when the generator used ≥ 90 % of its cores in a third of the
// window's intervals, when its threads waited ≥ 0.25 cores for a CPU the
// operating system gave to others over the window (a latency objective
// failed), or when the VU cap (MaxVUs) was reached and is below
// what Little's law says the rate needs at the baseline latency (rate ×
// service time × 1.5; for a flow of several requests, the baseline's mean
// iteration time). When the step that bounds the search from above is
// so limited, the bottleneck is "generator" and the rate is a lower bound.
// A limited step is held once more at the same rate before it counts: a
// stall of a busy machine says nothing of the target. A retry that fails
// too does not clear the generator, even without its limits showing: it
// ran on the first hold's backlog, so the rate stays a lower bound.
//
// The knee is the highest rate up to which every step's median latency
// stayed within 1.5× the baseline's (the lowest passing step) plus 2 ms;
// the service time is the lowest mean latency among the steps at up to
// half the knee's rate and the baseline (where queueing adds the least; a
// machine's stall inflates only the steps it hits), and the plateau is
// the highest rate of successful iterations any step achieved (PlateauIPS;
// PlateauRPS the requests'). Bottleneck, in order: "generator" as above; "errors" (or
// "connections" when refused or reset connections dominate) when the
// bounding step failed an error objective, or the most overloaded step
// failed it while its latency objectives held (errors at a bounded
// latency: a pool's wait timeout); with the dominant class and message;
// "cpu" when a monitor
// shows a CPU limit series (process, cgroup or host) at ≥ 95 % during the
// bounding step and not at the baseline; "connections" when a monitor
// shows listen-queue overflows there; "concurrency" when throughput
// stopped following the offered rate (a failing step offered more than 5 %
// above the plateau achieved no more than it, both in iterations/s), with
// Little's law: the service holds plateau × service time requests at once
// — on requests for a flow of one request (requests/s × the mean latency),
// on iterations for a flow of several (iterations/s × an iteration's time
// in service: Result.RequestsPerIteration × the mean latency, as think
// time and poll pauses hold nothing), the evidence saying which (below one, the
// server is busy with work its responses do not show, and the kind is
// "unknown" with that evidence); otherwise "unknown", saying what was
// seen.
//
// "memory" (before "network", after "cpu") when a monitor's memory in use
// — a cgroup's memory.current of memory.max, a process's of its limit, or
// the host's (MemAvailable near 0) — is at ≥ 95 % at the end of the
// bounding step and not at the baseline's; "network" when throughput is
// flat while a monitored host's bytes/s sit at ≥ 90 % of its link
// (Options.LinkBytesPerSec, else node_network_speed_bytes), or a device
// drops packets at the bound and not at the baseline. Bytes/s that merely
// stopped growing decide nothing (they stop whenever throughput does).
//
// With Options.Probe a health endpoint is sampled at 2/s throughout on a
// client of its own (probe.go): each step carries its probes' exact p50
// and p99 and failures, the recovery between steps waits for the probe to
// come back near its baseline, and a probe that starved at the bounding
// step (p99 above 3× the baseline's plus 20 ms, or failures) is added to
// the evidence whatever the kind. Each step also keeps its monitors'
// series ranges (Step.Monitors).
//
// WriteText prints the steps, the curve in brief and the verdict;
// WriteJSON writes surge.capacity/v1; WriteHTML the curve as a page
// (report.WriteCapacityHTML).
//
// Search calls the Session from its own goroutine only; it is not safe to
// run two searches on one session.
package capacity
