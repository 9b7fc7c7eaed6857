package autoheal

import (
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/mesh"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// Autoheal's traffic between nodes is the wire's partition and autoheal
// messages (PROTOCOL.md section 6.5), sent as service messages for the
// service instance named Service on the control lane: PartitionReport
// (answered by PartitionAck), ViewRequest (ViewReply) and HealOrder
// (HealReply). This file turns them into autoheal's own values and back.

// served are the request types autoheal serves on its node.
var served = []wire.Type{wire.TypePartitionReport, wire.TypeViewRequest, wire.TypeHealOrder}

// report is a node's partition report to the leader.
type report struct {
	Node       string
	Partitions []string
	// Fresh is set when a partition just occurred; a reminder of
	// partitions still recorded is not fresh and does not hold the leader
	// back.
	Fresh bool
}

func (r report) encode() []byte {
	m := wire.PartitionReport{Service: []byte(Service), Reporter: []byte(r.Node), Fresh: r.Fresh, Partitions: byteNames(r.Partitions)}
	return m.Append(nil)
}

func decodeReport(body []byte) (report, error) {
	var m wire.PartitionReport
	if err := m.Decode(body); err != nil {
		return report{}, err
	}
	return report{Node: string(m.Reporter), Partitions: stringNames(m.Partitions), Fresh: m.Fresh}, nil
}

// order is a HealOrder: in round Round, which Leader planned, Coordinator
// heals Victims into its cluster. The leader sends it to the coordinator,
// and the coordinator to each victim in turn, naming only that victim.
type order struct {
	Round       string
	Leader      string
	Coordinator string
	Victims     []string
	Reason      string
}

func (o order) encode() []byte {
	m := wire.HealOrder{
		Service: []byte(Service), Round: []byte(o.Round), Leader: []byte(o.Leader),
		Coordinator: []byte(o.Coordinator), Victims: byteNames(o.Victims), Reason: []byte(o.Reason),
	}
	return m.Append(nil)
}

func decodeOrder(body []byte) (order, error) {
	var m wire.HealOrder
	if err := m.Decode(body); err != nil {
		return order{}, err
	}
	return order{
		Round: string(m.Round), Leader: string(m.Leader), Coordinator: string(m.Coordinator),
		Victims: stringNames(m.Victims), Reason: string(m.Reason),
	}, nil
}

// answer is a HealReply: whether the receiver of an order took its part.
type answer struct {
	Accepted bool
	Reason   string
}

func (a answer) encode() []byte {
	return (&wire.HealReply{Accepted: a.Accepted, Reason: []byte(a.Reason)}).Append(nil)
}

// viewRequest asks for a node's view in round.
func viewRequest(round string) []byte {
	return (&wire.ViewRequest{Service: []byte(Service), Round: []byte(round)}).Append(nil)
}

// viewAnswer is a ViewReply: a node's view, and how its heal of the round
// asked about goes.
type viewAnswer struct {
	View
	Heal      wire.HealState
	HealError string
}

func (v viewAnswer) encode() []byte {
	m := wire.ViewReply{
		Node: []byte(v.Node), GUID: v.GUID, Healing: v.Healing,
		Running: byteNames(v.Running), Stopped: byteNames(v.Stopped), Partitions: byteNames(v.Partitions),
		Heal: v.Heal, HealError: []byte(v.HealError),
	}
	return m.Append(nil)
}

func decodeViewAnswer(body []byte) (viewAnswer, error) {
	var m wire.ViewReply
	if err := m.Decode(body); err != nil {
		return viewAnswer{}, err
	}
	return viewAnswer{
		View: View{
			Node: string(m.Node), GUID: mesh.GUID(m.GUID), Healing: m.Healing,
			Running: stringNames(m.Running), Stopped: stringNames(m.Stopped), Partitions: stringNames(m.Partitions),
		},
		Heal: m.Heal, HealError: string(m.HealError),
	}, nil
}

// decodeAnswer decodes the answer of type t a node gave to a request into
// m, which must be of the type the request is answered with.
func decodeAnswer(node string, request, t wire.Type, body []byte, m wire.Message) error {
	if t != m.Type() {
		return fmt.Errorf("autoheal: %s answered a %s message with %s, want %s", node, request, t, m.Type())
	}
	if err := m.Decode(body); err != nil {
		return fmt.Errorf("autoheal: %s answered a %s message with a bad %s: %w", node, request, t, err)
	}
	return nil
}

func byteNames(names []string) [][]byte {
	if len(names) == 0 {
		return nil
	}
	out := make([][]byte, len(names))
	for i, s := range names {
		out[i] = []byte(s)
	}
	return out
}

func stringNames(names [][]byte) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, b := range names {
		out[i] = string(b)
	}
	return out
}
