// Package singleton runs a function on exactly one node of the cluster at
// a time, after Akka's ClusterSingletonManager, on top of a quorum lock of
// package locker.
//
//	l, err := locker.New(node, locker.Config{Name: "singletons"})
//	err = singleton.Run(ctx, l, "billing", func(ctx context.Context, token uint64) error {
//		// act, passing token to every resource so that it can reject a
//		// stale runner; return when ctx is done
//	}, singleton.Config{})
//
// Every node that should be able to run the function calls Run with the
// same locker name and singleton name. Each Run competes for the quorum
// lock "singleton:<name>"; the one that gets it calls the function with
// the grant's fencing token, renews the lease while the function runs and
// releases the lock when it returns.
//
// # Guarantees
//
// With L = Config.Lease, M = Config.Margin, R = Config.Retry:
//
//   - One runner at a time: a function runs only while its Run holds the
//     quorum lock, so the lock's guarantees carry over (locker/GUARANTEES.md,
//     section Quorum: safe under crashes and partitions, unsafe when a
//     quorum member restarts within a lease or the membership changes while
//     the lock is held). The checked form: the runs, ordered by token, do
//     not overlap (TestOneRunnerUnderFaults records every run with
//     internal/lockcheck).
//   - Safety margin: the lease is renewed every L/2 (a failed renewal is
//     retried every R). The function's ctx is cancelled as soon as the lease
//     is lost (Lease.Lost: renewal refused by the quorum, locker closed,
//     node suspended by a split-brain strategy: TestSuspendedRunnerHandsOver)
//     and at the latest M before the lease's deadline when renewals keep failing
//     (a holder cut off by a partition: TestPartitionedRunnerStops). The
//     deadline never lies after the end of the grant on any granting node
//     (it is measured from before the request), so a function that returns
//     within M of its ctx being
//     cancelled has stopped before another node can be granted the lock,
//     provided the clocks tick at the same rate. A function that ignores
//     its ctx, or a process paused longer than M, can overlap the next
//     runner: the fencing token is the defence (a resource that remembers
//     the largest token it has seen rejects the older runner).
//   - Handover: when Run's ctx is cancelled, the function's ctx is
//     cancelled; once the function returns, Run releases the lock and
//     returns, and another node's Run takes it at its next attempt, within
//     3R/2 (plus one lock round trip). To hand over when a node stops or
//     leaves, cancel its Run in the node's Stop or Leave hook
//     (mesh.Hooks), which run while the links are up, and wait for Run to
//     return there. Run also stops by itself when the node stops (Node.Done)
//     or its locker closes, but then its release may not reach the others,
//     and they take over as after a crash. Leave is not noticed by Run: a
//     node that left is alone, its quorum is itself, and a Run still going
//     there would take the lock on its own (the membership change of
//     GUARANTEES.md): cancel Run in the Leave hook (TestHandover shows both
//     hooks).
//   - Restart after a crash: a crashed runner's grant ends at most L after
//     the crash (its last renewal was sent before it), and another node's
//     Run starts the function within L + 3R/2 + 4 × the locker's CallTimeout
//     of the crash: an attempt under way when the grant ended may still be
//     refused (its requests and its rollback, each bounded by CallTimeout),
//     then within 3R/2 (attempts are R apart, jittered by ±R/2) the next
//     attempt is granted (its requests and the fence round). Typically it
//     is about L. Two nodes whose attempts collide, each granted by part of
//     the quorum, both give their grants back; the jitter separates them
//     within a few attempts, each adding at most 3R/2 + 2 × CallTimeout.
//     This holds as long as a majority of the lock's quorum runs: with 3
//     members both other nodes, so run at least 5 to survive the crash of
//     any one.
//
// # When the function returns
//
//   - nil: the work is done on this node; Run releases the lock and
//     returns nil. Like an Akka singleton actor that stops itself, it is not
//     restarted by this Run; Runs on the other nodes still compete for the
//     lock, so one of them starts the function again unless they were
//     stopped too.
//   - an error: Run releases the lock, logs the error, waits
//     Config.Backoff and competes again, so the function restarts on
//     another node (which tries every R) or, after the backoff, here.
//   - because its ctx was cancelled for a lost lease: Run competes again
//     at once (the function did not fail).
//   - because Run's ctx was cancelled: Run releases and returns ctx.Err().
//
// A panic in the function is not recovered: it crashes the process, which
// is a crash as above.
package singleton
