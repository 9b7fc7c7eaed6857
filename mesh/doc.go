// Package mesh is the ekka-mesh node: the piece a clustered Go service links
// to become one member of a cluster.
//
// A node has a name (short@host, whose trailing digits decide its TCP port),
// a cluster name and a cookie shared by every member. Start brings it up and
// Stop takes it down without leaving goroutines behind. Join contacts one
// member, learns the member table and connects to every member (a full mesh);
// Leave announces the departure and disconnects; ForceLeave removes a
// possibly dead member everywhere. With a discovery strategy (package
// discovery) the node finds
// and joins its cluster on its own (autocluster). Like ekka, Join of a node
// already in this node's cluster returns ErrAlreadyInCluster and Leave on a
// node alone ErrNotInCluster.
//
// SetAutocluster turns the autocluster loop off and on while the node runs,
// and Autocluster runs one pass now (ekka's disable_autocluster,
// enable_autocluster, autocluster/1). Config.Hooks are the application's
// lifecycle hooks (Start, Stop, Join, Leave, after ekka:callback/2), run in
// the order the Hooks type documents together with package autoheal's
// Prepare and Reboot; a hook that fails or panics yields a *HookError.
//
// Members call each other with Call (at most once, with typed errors:
// ErrNodeDown, ErrNoHandler, ErrRemote, ErrPanic), Cast (fire and forget,
// FIFO per pair) and Multicall (per-node results and the nodes that failed).
// Handle registers a method; a method that is taken is refused
// (ErrHandlerExists), so each service names its methods with a prefix of its
// own.
//
// The services built on a node (package autoheal, package locker) speak the
// wire's own typed messages rather than calls: HandleMessage registers for
// a service message type and a service instance name, and Request,
// RequestAll and Tell send such messages on the control lane, where they
// never wait behind application calls or bulk data.
//
// Subscribe delivers membership events (node up, down, joining, leaving,
// healing, partition occurred and healed) in order, without ever blocking
// the node. Info reports the node's view in ekka's shape: running and
// stopped nodes, members with their status and GUID, and the partitions this
// node has recorded. ClusterStatus (running, stopped, not a member), IsMember,
// NodeList and Report answer for one node, as ekka's status/1, is_member/1
// and nodelist/0,1 do.
//
// Identity: every start creates a time-ordered GUID, so "oldest" means
// "smallest GUID" and a restarted node is the youngest. A reconnect to a
// member this node had marked down with an unchanged GUID is a partition: it
// stays recorded until healed or cleared.
package mesh
