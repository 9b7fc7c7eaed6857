// Package autoheal heals network partitions of an ekka-mesh cluster on its
// own, after ekka's autoheal (docs/ARCHITECTURE.md, "How a heal runs").
//
// A partition is recorded by the mesh when a member that was down comes back
// with the same GUID: both sides kept running apart, so state they replicate
// may have diverged. The links come back at once, but the records stay until
// a heal. Autoheal acts on those records:
//
//  1. Every node reports the partitions it records to the leader, the oldest
//     running member that runs autoheal (Leader): each node advertises the
//     service "autoheal" (mesh.Node.AddService) while it is attached, so a
//     node that only links the mesh as a library is never elected.
//  2. Once reports have stopped for the delay (cluster.autoheal, default
//     15s), the leader asks every running member for its View and calls
//     Decide, a pure function: views in, plan out. It waits when a view is
//     missing, a heal is running or the network is still split, and does
//     nothing when no view records a partition.
//  3. The plan's coordinator, the oldest node of the majority side, heals
//     the victims (every node of the other sides) one at a time: the victim
//     announces healing, runs the application's Prepare hook, drops its
//     links and member table and rejoins the coordinator's cluster
//     (mesh.Node.Rejoin; every member clears its partition with the victim
//     and publishes partition-healed), runs the Reboot hook and announces
//     up.
//  4. A heal that fails or is interrupted leaves records behind: their
//     reports bring the leader back after the delay. A victim whose rejoin
//     failed runs its Reboot hook all the same (the reason says the rejoin
//     failed), since it serves again where it is: every Prepare is followed
//     by one Reboot unless the node stops.
//
// Autoheal attaches to a node through its public API only: events, the
// wire's partition and autoheal messages for the service "autoheal"
// (mesh.Node.HandleMessage and Request, on the control lane; PROTOCOL.md
// section 6.5), Info, SetStatus and Rejoin.
// Attach it to every node of the cluster:
//
//	ah, err := autoheal.Attach(node, autoheal.Config{
//		Delay: 15 * time.Second,
//		Hooks: autoheal.Hooks{Prepare: dropState, Reboot: reloadState},
//	})
//	defer ah.Close()
package autoheal
