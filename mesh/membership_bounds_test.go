package mesh

import (
	"context"
	"fmt"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/wire"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const boundsCookie = "bounds-cookie"

// closedAddr returns a loopback address where nothing listens: a dial there
// is refused at once.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// dialLog counts the dials a node makes to addr, with their times.
type dialLog struct {
	mu    sync.Mutex
	addr  string
	times []time.Time
}

func (d *dialLog) dialer(ctx context.Context, network, addr string) (net.Conn, error) {
	if addr == d.addr {
		d.mu.Lock()
		d.times = append(d.times, time.Now())
		d.mu.Unlock()
	}
	var nd net.Dialer
	return nd.DialContext(ctx, network, addr)
}

// maxPerSecond returns the most dials within any one second.
func (d *dialLog) maxPerSecond() (most, total int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.times {
		j := i
		for j < len(d.times) && d.times[j].Sub(d.times[i]) < time.Second {
			j++
		}
		most = max(most, j-i)
	}
	return most, len(d.times)
}

// rawPeer connects to nd as a peer built on conn and wire: a node (or a
// hidden client) with the cookie that sends whatever it likes.
func rawPeer(t *testing.T, ctx context.Context, nd *Node, name string, hidden bool) *conn.Conn {
	t.Helper()
	c, _ := rawPeerPongs(t, ctx, nd, name, hidden)
	return c
}

// rawPeerPongs is rawPeer that also hands over the IDs of the Pongs the
// node sends it.
func rawPeerPongs(t *testing.T, ctx context.Context, nd *Node, name string, hidden bool) (*conn.Conn, <-chan uint64) {
	t.Helper()
	cc := conn.DefaultConfig()
	cc.Name, cc.Cookie, cc.Cluster, cc.GUID, cc.Hidden = name, boundsCookie, nd.Cluster(), NewGUID(), hidden
	c, err := conn.Dial(ctx, &cc, nd.Name(), nd.Addr().String())
	require.NoError(t, err)
	pongs := make(chan uint64, 16)
	c.Start(func(_ *conn.Conn, h wire.Header, _ []byte, _ bool) {
		if h.Type == wire.TypePong {
			select {
			case pongs <- h.ID:
			default:
			}
		}
	})
	t.Cleanup(func() {
		c.Close(wire.CodeShutdown, "test done")
		<-c.Done()
	})
	return c, pongs
}

// processed sends a Ping after what c sent so far and waits for its Pong:
// the node handles a link's control frames in order, so once the Pong is
// back it has handled every message c sent before.
func processed(t *testing.T, ctx context.Context, c *conn.Conn, pongs <-chan uint64) {
	t.Helper()
	const id = 0x5eed
	var b [8]byte
	require.NoError(t, c.Send(ctx, wire.TypePing, id, (&wire.Ping{SentNanos: 1}).Append(b[:0]), nil), "sending a Ping")
	for {
		select {
		case got := <-pongs:
			if got == id {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no Pong to a Ping sent after the messages: %v", ctx.Err())
		}
	}
}

func send(t *testing.T, ctx context.Context, c *conn.Conn, m wire.Message) {
	t.Helper()
	body, err := wire.AppendValid(nil, m)
	require.NoError(t, err)
	require.NoError(t, c.Send(ctx, m.Type(), 0, body, nil), "sending %s", m.Type())
}

// TestPeerAnnouncingManyMembers: a peer with the cookie announces 100,000
// members that do not exist (two tables of 50,000 and 1,000 joins). The node
// keeps at most MaxMembers, learns no faster than its budget, dials them no
// faster than RedialRate, keeps its memory and goroutines bounded, and
// forgets them once ForgetUnreached has passed, with a node-leaving event
// for each; its real member is never dropped.
func TestPeerAnnouncingManyMembers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dead := closedAddr(t)
	dials := &dialLog{addr: dead}
	var mu sync.Mutex
	addrs := map[string]string{}
	resolve := func(node string) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if a, ok := addrs[node]; ok {
			return a, nil
		}
		return dead, nil
	}
	start := func(name string) *Node {
		cfg := DefaultConfig()
		cfg.Name, cfg.Cookie, cfg.ListenAddr = name, boundsCookie, "127.0.0.1:0"
		cfg.Resolve, cfg.Dial = resolve, dials.dialer
		cfg.MaxMembers, cfg.LearnBurst, cfg.LearnRate, cfg.RedialRate = 300, 200, 50, 100
		cfg.ForgetUnreached = 3 * time.Second
		nd, err := Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { nd.Stop(context.Background()) })
		mu.Lock()
		addrs[name] = nd.Addr().String()
		mu.Unlock()
		return nd
	}
	nd := start("victim@127.0.0.1")
	friend := start("friend@127.0.0.1")
	require.NoError(t, friend.Join(ctx, nd.Name()))
	runtime.GC()
	goroutines := runtime.NumGoroutine()
	sub := nd.Subscribe()
	defer sub.Close()

	// Sample the table, the goroutines and the heap from before the attack
	// until 1.5 s after it.
	var most, goroutinesMost int
	var heap uint64
	stop, sampled := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(sampled)
		for {
			most = max(most, len(nd.Members()))
			goroutinesMost = max(goroutinesMost, runtime.NumGoroutine())
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			heap = max(heap, ms.HeapInuse)
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	evil := rawPeer(t, ctx, nd, "evil@127.0.0.1", false)
	for table := range 2 {
		mt := wire.MemberTable{Members: make([]wire.MemberEntry, 50000)}
		for i := range mt.Members {
			mt.Members[i] = wire.MemberEntry{Name: fmt.Appendf(nil, "fake%d-%d@127.0.0.1", table, i), GUID: NewGUID(), Status: wire.StatusUp}
		}
		send(t, ctx, evil, &mt)
	}
	for i := range 1000 {
		send(t, ctx, evil, &wire.Join{Node: fmt.Appendf(nil, "joiner%d@127.0.0.1", i), GUID: NewGUID()})
	}
	time.Sleep(1500 * time.Millisecond)
	close(stop)
	<-sampled
	// At most one dial goroutine per member, and a few per link.
	require.LessOrEqual(t, goroutinesMost, goroutines+300+100, "%d goroutines, %d before the attack: want at most one more per member", goroutinesMost, goroutines)
	require.LessOrEqual(t, most, 300, "the node held %d members; want at most MaxMembers, 300", most)
	require.GreaterOrEqual(t, most, 200, "the node held at most %d members; want the learning burst (200) learned", most)
	// The test's own two 2.5 MB tables are in there too.
	require.LessOrEqual(t, heap, uint64(128<<20), "heap in use reached %d MB; want under 128", heap>>20)

	// The fake members are forgotten once ForgetUnreached has passed; the
	// real ones stay.
	testnet.EventuallyCtx(t, ctx, "the fake members to be forgotten", func() string {
		if ms := nd.Members(); len(ms) != 3 {
			return fmt.Sprintf("%d members", len(ms))
		}
		return ""
	})
	names := []string{}
	for _, m := range nd.Members() {
		names = append(names, m.Node)
	}
	require.Equal(t, []string{"evil@127.0.0.1", "friend@127.0.0.1", "victim@127.0.0.1"}, names, "members after the attack")
	forgotten := 0
	for quiet := false; !quiet; {
		select {
		case ev := <-sub.C():
			if ev.Kind == EventNodeLeaving && strings.Contains(ev.Reason, "never reached") {
				forgotten++
			}
		case <-time.After(300 * time.Millisecond):
			quiet = true
		}
	}
	require.GreaterOrEqual(t, forgotten, 200, "%d node-leaving events for members never reached; want one per member learned (at least 200)", forgotten)
	perSecond, total := dials.maxPerSecond()
	// RedialRate 100 with a bucket of one second's worth: at most 200 in
	// any one second.
	require.LessOrEqual(t, perSecond, 200, "%d dials to fake members within one second (%d in all); want at most 200 (RedialRate 100)", perSecond, total)
	require.NotZero(t, total, "no dial to a fake member: the test proves nothing")
	t.Logf("most members %d, heap %d MB, %d dials to fake members, at most %d in one second, %d forgotten", most, heap>>20, total, perSecond, forgotten)
	// The real member was never dropped, and the node still answers.
	_, err := friend.Call(ctx, nd.Name(), MethodPong, nil)
	require.NoError(t, err, "a call to the node after the attack")
}

// startNodes starts nodes on free loopback ports that resolve each other.
func startNodes(t *testing.T, ctx context.Context, names ...string) []*Node {
	t.Helper()
	var mu sync.Mutex
	addrs := map[string]string{}
	var nodes []*Node
	for _, name := range names {
		cfg := DefaultConfig()
		cfg.Name, cfg.Cookie, cfg.ListenAddr = name, boundsCookie, "127.0.0.1:0"
		cfg.Resolve = func(node string) (string, error) {
			mu.Lock()
			defer mu.Unlock()
			if a, ok := addrs[node]; ok {
				return a, nil
			}
			return "", fmt.Errorf("no node %s in this test", node)
		}
		nd, err := Start(ctx, cfg)
		require.NoError(t, err)
		t.Cleanup(func() { nd.Stop(context.Background()) })
		mu.Lock()
		addrs[name] = nd.Addr().String()
		mu.Unlock()
		nodes = append(nodes, nd)
	}
	return nodes
}

// TestHiddenClientCannotAnnounceMembers: a hidden client (what ctl is) that
// sends join, member-table, status and leave messages changes nothing,
// while the built-in methods ctl uses still join and force out.
func TestHiddenClientCannotAnnounceMembers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := startNodes(t, ctx, "h1@127.0.0.1", "h2@127.0.0.1")
	nd := nodes[0]
	hidden, pongs := rawPeerPongs(t, ctx, nd, "ctl-evil@127.0.0.1", true)
	for i := range 50 {
		send(t, ctx, hidden, &wire.Join{Node: fmt.Appendf(nil, "fake%d@127.0.0.1", i), GUID: NewGUID()})
	}
	send(t, ctx, hidden, &wire.MemberTable{Members: []wire.MemberEntry{{Name: []byte("tabled@127.0.0.1"), GUID: NewGUID(), Status: wire.StatusUp}}})
	send(t, ctx, hidden, &wire.MemberStatus{Node: []byte(nd.Name()), GUID: nd.GUID(), Status: wire.StatusLeaving})
	send(t, ctx, hidden, &wire.MemberServices{Node: []byte("ctl-evil@127.0.0.1"), Services: [][]byte{[]byte("autoheal")}})
	cl, err := Connect(ctx, ClientConfig{Cookie: boundsCookie, Addr: nd.Addr().String()}, nd.Name())
	require.NoError(t, err)
	defer cl.Close()
	processed(t, ctx, hidden, pongs)
	ms := nd.Members()
	require.Len(t, ms, 1, "members after a hidden client's announcements: %+v; want only the node itself, up", ms)
	require.Equal(t, StatusUp, ms[0].Status, "members after a hidden client's announcements: %+v; want only the node itself, up", ms)
	// ctl's join and force-leave go through the built-in methods, and work.
	_, err = cl.Admin(ctx, MethodJoin, AdminRequest{Node: nodes[1].Name()})
	require.NoError(t, err, "ctl join")
	testnet.EventuallyCtx(t, ctx, "h2 to be a member", func() string {
		if running := nd.Info().RunningNodes; len(running) != 2 {
			return fmt.Sprintf("running %v", running)
		}
		return ""
	})
	_, err = cl.Admin(ctx, MethodForceLeave, AdminRequest{Node: nodes[1].Name()})
	require.NoError(t, err, "ctl force-leave")
	testnet.EventuallyCtx(t, ctx, "h2 to be forced out", func() string {
		if ms := nd.Members(); len(ms) != 1 {
			return fmt.Sprintf("%d members", len(ms))
		}
		return ""
	})
}

// TestServicesReachEveryMember: a service a node advertises shows in the
// MemberInfo of that node on every member, a member that links later is
// told too, and a withdrawn service disappears.
func TestServicesReachEveryMember(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nodes := startNodes(t, ctx, "s1@127.0.0.1", "s2@127.0.0.1", "s3@127.0.0.1")
	servicesOf := func(on *Node, node string) []string {
		for _, m := range on.Members() {
			if m.Node == node {
				return m.Services
			}
		}
		return nil
	}
	require.NoError(t, nodes[1].Join(ctx, nodes[0].Name()))
	require.NoError(t, nodes[0].AddService("autoheal"))
	require.NoError(t, nodes[0].AddService("locker"))
	want := []string{"autoheal", "locker"}
	testnet.EventuallyCtx(t, ctx, "s2 to see s1's services", func() string {
		if got := servicesOf(nodes[1], "s1@127.0.0.1"); !slices.Equal(got, want) {
			return fmt.Sprintf("s2 sees %q", got)
		}
		return ""
	})
	require.Equal(t, want, servicesOf(nodes[0], "s1@127.0.0.1"), "s1's own services")
	require.NoError(t, nodes[2].Join(ctx, nodes[1].Name()))
	testnet.EventuallyCtx(t, ctx, "s3, joined later, to see s1's services", func() string {
		if got := servicesOf(nodes[2], "s1@127.0.0.1"); !slices.Equal(got, want) {
			return fmt.Sprintf("s3 sees %q", got)
		}
		return ""
	})
	require.NoError(t, nodes[0].RemoveService("locker"))
	testnet.EventuallyCtx(t, ctx, "the withdrawn service to disappear", func() string {
		for _, nd := range nodes[1:3] {
			if got := servicesOf(nd, "s1@127.0.0.1"); !slices.Equal(got, []string{"autoheal"}) {
				return fmt.Sprintf("%s sees %q", nd.Name(), got)
			}
		}
		return ""
	})
	for _, bad := range []string{"", "a b", strings.Repeat("s", MaxServiceLen+1)} {
		assert.Error(t, nodes[0].AddService(bad), "AddService(%q) accepted", bad)
	}
}

// TestNodeNameLengthLimit: a node name longer than 255 bytes is refused by
// the config check and by Connect, with the length and the limit.
func TestNodeNameLengthLimit(t *testing.T) {
	long := strings.Repeat("n", 70000) + "@127.0.0.1"
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie = long, boundsCookie
	err := cfg.Validate()
	require.ErrorContains(t, err, "70010 bytes long; want at most 255", "Validate with a 70,010-byte name; want the length and the limit")
	require.LessOrEqual(t, len(err.Error()), 400, "the error is %d bytes long; want it short", len(err.Error()))
	_, err = Connect(context.Background(), ClientConfig{Cookie: boundsCookie, Addr: "127.0.0.1:1"}, long)
	require.ErrorContains(t, err, "want at most 255", "Connect to a 70,010-byte name; want the limit named")
	cfg.Name = "n@127.0.0.1"
	cfg.MaxMembers = wire.MaxMembers + 1
	require.ErrorContains(t, cfg.Validate(), "MaxMembers 65536", "Validate with MaxMembers 65536; want it refused (a table could not carry it)")
}
