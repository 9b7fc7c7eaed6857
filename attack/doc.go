// Package attack is ekka-mesh's attack suite: a hostile client, built on
// the project's own packages (conn, wire, mesh, and locker's request
// layout), attacks real `ekka-mesh run` processes, one row of issue 10's
// table per test, and checks that what a user sees stays within stated
// bounds. The package has no code of its own outside its tests.
//
// # What each test does
//
// TestMain builds ./cmd/ekka-mesh once. Each test starts three `ekka-mesh
// run` processes (n1@127.0.0.1, n2@127.0.0.2, n3@127.0.0.3, a free base
// port, static discovery, 200 ms heartbeats with a 2 s timeout) and a
// library node, lib9@127.0.0.9, linked into the test process; n1 is the
// victim. While the attack runs, a watcher samples every 100 ms:
//
//   - the victim's RSS (VmRSS in /proc/PID/status) and its open
//     descriptors (/proc/PID/fd);
//   - a good client's ping: a hidden client, connected before the attack,
//     calls the built-in pong method; median and maximum are recorded;
//   - the library node's calls on its links: to n1, to n2, and through n1
//     to n3 (n1's own link);
//   - node-down events: on the library node's subscription and in every
//     process's log.
//
// The hostile client links with the cookie through conn.Dial, as a member
// (mallory@127.0.0.66) or a hidden client, answers heartbeats so the victim
// keeps it, and writes hand-built frames straight onto the data and large
// lanes' sockets (its dialer taps them). A conn.Handler that blocks is how
// it stops reading: the handler runs on the lane's reader. Attacks without
// the cookie use net and wire only.
//
// # Bounds, asserted for every row
//
//   - RSSBound: the victim's RSS stays below 512 MiB.
//   - FDBound: the victim holds fewer than 2,000 descriptors.
//   - PingMedianBound: the good client's ping has a median below 100 ms,
//     and none goes unanswered for PingTimeout (2 s).
//   - Nothing else is lost: every call of the library node succeeds within
//     CallTimeout (5 s), and no member (n1, n2, n3, lib9) goes down in any
//     node's view.
//
// When a bound is crossed the attack stops at once (and a victim past
// 1 GiB is killed), so a node without a bound fails fast instead of taking
// the machine down.
//
// # The rows
//
//  1. TestAttackUnreadReplies, TestAttackSlowReplyReader: a member sends
//     60 KiB calls whose error replies are 60 KiB and never reads the
//     replies, or reads them at 160 KB/s.
//  2. TestAttackUnfinishedChunks: 250 chunked messages announced at 4 MiB,
//     each sent but for its last chunk.
//  3. TestAttackManyMembers: a member announces 100,000 members; the victim
//     holds at most MemberBound (10,000), and a restarted n3 then links to
//     the victim and keeps the link (the table it gets decodes).
//  4. TestAttackHiddenJoins: a hidden client sends 5,000 Join messages; no
//     fake member appears.
//  5. TestAttackFenceTokenWrap: a hidden client, then a member, fence a
//     resource with token 2^64-1; each later lock gets a greater token.
//  6. TestAttackIdleConnections: 1,000 idle TCP connections without the
//     cookie, from 127.0.0.200, reopened as they close; meanwhile fresh
//     hidden clients and `ekka-mesh ctl status` work and a new node n4,
//     seeded with the victim only, joins.
//  7. TestAttackConnectionFlood, TestAttackWrongCookieFlood: 5 s of
//     connect-and-close, or of handshakes with a wrong proof, from 8
//     goroutines; the victim writes less than LogBytesBound (64 KiB).
//  8. TestAttackIncompleteLanes: 22,000 lanes authenticated with the cookie
//     whose links never complete (conn.Dial with the large lane withheld).
//  9. TestAttackSameName: n1 started a second time exits non-zero within
//     15 s, naming the node and its port; the first n1 keeps working.
//  10. Offline cookie guessing from a captured handshake is not attacked
//     here: the cost of a guess is measured by the cookie KDF's benchmark.
//  11. TestAttackDecompressionBomb: casts whose 88-byte S2 block decodes to
//     255 MiB, sent as fast as the victim takes them; a closed link is
//     redialed.
//  12. TestAttackOversizedCall: the library node calls with 256 MiB + 1
//     byte; the call is refused within a second and the link stays up.
//
// And the small ones: TestAttackOverLimitLength (a Hello announcing 1 MiB
// is answered Reject "too large"; an over-limit frame after the handshake
// closes the link), TestAttackUnknownCriticalType (a goodbye "unknown
// type"), TestAttackShortPing (a 3-byte Ping is not echoed).
//
// # Sizes and running
//
// Each test takes 2 to 15 seconds, the whole suite about two minutes under
// -race on two cores; the sizes above are the issue's, except that attacks
// run 8 s (the unbounded node's damage showed within two). After each
// test, goleak checks that no goroutine it started is left. The victim is built without the race detector; the attacker runs
// under it when the suite does, which slows only the attacker. The tests
// raise the open-file limit to 65,536 when allowed (root), so the attacker
// of row 8 never runs out first; the node processes inherit it.
//
//	go test -race -run 'TestAttack' ./attack
//	go test -race -run TestAttackUnreadReplies -v ./attack
//
// -short skips the suite.
package attack
