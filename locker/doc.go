// Package locker is ekka-mesh's lock service, after ekka_locker: named
// lock services attached to a node, with local, leader, quorum and all
// locks, leases and fencing tokens.
//
// Unlike ekka, the default lock type is Quorum, a cluster-wide lock:
// ekka's acquire/1 and ekka:lock/1 take a local lock, on the calling node
// only. An Options with no Type (and ekka-mesh ctl lock without --type)
// locks on a quorum of the members; ask for Local to lock as ekka's
// default does. Quorum and all locks also count a node that does not
// answer as no grant, where ekka ignores it (GUARANTEES.md), and a grant
// ends with its lease instead of ekka's killing of the holder
// (docs/MIGRATING-FROM-EKKA.md lists every difference).
//
//	l, err := locker.New(node, locker.Config{Name: "sessions"})
//	defer l.Close()
//	res, err := l.Acquire(ctx, "client-42", locker.Options{Type: locker.Quorum})
//	if res.OK {
//		// act on the resource, passing res.Token so it can reject a stale holder;
//		// stop when res.Lease.Lost() is closed
//		l.Release(ctx, "client-42", locker.Options{Type: locker.Quorum})
//	}
//
// A Locker serves its own node's lock table (a Table: a pure state
// machine, requests and time in, grants out) to the other members as the
// wire's lock messages on the control lane (PROTOCOL.md section 6.6, which
// it registers for with the node's HandleMessage under its name), and
// takes locks from the tables of the nodes its lock type names:
//
//   - Local: this node's table.
//   - Leader: the table of the leader, the running member with the oldest
//     GUID.
//   - Quorum: a majority of the min(3, n/2+1) members that a
//     consistent-hash ring (Ring) assigns to the resource, out of all n
//     members including those that are down.
//   - All: every running member; any refusal or silence fails the lock and
//     releases what was granted.
//
// Owners are strings that identify a holder across nodes (Options.Owner;
// Locker.Owner by default). Locks are re-entrant per owner. Every grant has
// a lease (15 s by default) and ends unless renewed (Renew, or
// Options.AutoRenew); a holder learns that its lease is lost from
// Lease.Lost. A lock whose owner's node is down stays until its lease ends.
//
// A locker whose node is suspended (mesh.Node.Suspend: its side lost a
// split-brain decision, package splitbrain) gives up every lock it holds
// (the leases are lost, then released), takes none (Acquire and Renew fail
// with mesh.ErrSuspended) and its table grants none, until the node
// resumes; releases are still served.
//
// Fencing tokens increase strictly per resource from grant to grant and
// never exceed MaxToken (2^63-1): a fence above it is refused
// (ErrTokenRange) and a resource whose counter reached it gets no fresh
// grant. Only members' lockers may change a lock table: requests from a
// hidden client (ekka-mesh ctl) or a non-member are refused (ErrNotMember);
// ctl locks through the "ctl" method, which the member serves itself. What
// holds for each type when all is well, on a crash and under a partition
// is written down in GUARANTEES.md, and checked by this package's history
// checker tests.
package locker
