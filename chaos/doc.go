// Package chaos holds the chaos soak of ekka-mesh: TestChaosSoak runs five
// in-process nodes (mesh, autoheal and a quorum lock service on each) over a
// fault-injection network (faultnet) and, while a seeded scheduler applies
// random partitions (symmetric, intransitive and one-way), blackholes,
// delays, connection resets, crashes and restarts, keeps calls, casts and
// locks running on every node. It asserts what a user of the cluster would
// rely on:
//
//   - every call returns, with a reply or an error, within its deadline
//     plus a stated slack;
//   - no call runs twice, an acknowledged call ran exactly once, and its
//     reply is the one its handler sent;
//   - no cast is delivered twice;
//   - the history of quorum lock holds passes the lock history checker
//     (internal/lockcheck): mutual exclusion in fencing-token order;
//   - once the faults stop, the cluster converges within a bound: five
//     members, all up on every node, no partition recorded, and calls,
//     casts and locks work between every pair;
//   - after the nodes stop, no goroutine is left (goleak).
//
// The package has no code apart from this comment and its tests. How to
// run it long, and the figures of a 10-minute run, are in README.md.
package chaos
