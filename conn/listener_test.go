package conn

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testnet"
	"github.com/ekka-mesh/ekka-mesh/wire"
)

// lnConfig is a listener's config with a cookie that raises no warning.
func lnConfig(name string) *Config {
	cfg := testConfig(name)
	cfg.Cookie = "9f86d081884c7d659a2feaa0c55ad015"
	return cfg
}

// lnDialLink dials a whole link to l and accepts it; it returns how long
// the dial took.
func lnDialLink(t *testing.T, ctx context.Context, l *Listener, dialer, acceptor *Config) time.Duration {
	t.Helper()
	type res struct {
		c   *Conn
		err error
	}
	accepted := make(chan res, 1)
	go func() {
		c, err := l.Accept(ctx)
		accepted <- res{c, err}
	}()
	start := time.Now()
	c, err := Dial(ctx, dialer, acceptor.Name, l.Addr().String())
	took := time.Since(start)
	require.NoError(t, err)
	r := <-accepted
	require.NoError(t, r.err)
	// Close only once both ends have their Conn: the dialer's last setup
	// step must not race with the acceptor's close.
	c.Close(0, "test over")
	r.c.Close(0, "test over")
	<-c.Done()
	<-r.c.Done()
	return took
}

func TestListenSameNodeTwiceFails(t *testing.T) {
	hsLeakCheck(t)
	ctx := context.Background()
	cfg := lnConfig("a1@127.0.0.1")
	l, err := Listen(ctx, cfg, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	addr := l.Addr().String()
	_, port, _ := net.SplitHostPort(addr)

	_, err = Listen(ctx, lnConfig("a1@127.0.0.1"), addr)
	require.Error(t, err, "a second node on the same address must not start")
	assert.Contains(t, err.Error(), fmt.Sprintf("conn: port %s is already in use: another node with this name runs on this host?", port))

	// The wildcard address overlaps it too.
	_, err = Listen(ctx, lnConfig("a1@db1"), ":"+port)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "conn: port "+port+" is already in use")

	// The first node still answers.
	lnDialLink(t, ctx, l, lnConfig("b@127.0.0.1"), cfg)
}

func TestListenRestartRebindsAtOnce(t *testing.T) {
	hsLeakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := lnConfig("a1@127.0.0.1")
	l, err := Listen(ctx, cfg, "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	// A link whose acceptor side closes first leaves its connections in
	// TIME_WAIT on the listening port.
	lnDialLink(t, ctx, l, lnConfig("b@127.0.0.1"), cfg)
	require.NoError(t, l.Close())

	l, err = Listen(ctx, cfg, addr)
	require.NoError(t, err, "a restarted node rebinds its port at once")
	defer l.Close()
	lnDialLink(t, ctx, l, lnConfig("b@127.0.0.1"), cfg)
}

// A thousand idle or slow connections held open against the port, reopened
// as they are closed, do not keep a real peer out.
func TestListenIdleFloodAdmitsRealPeers(t *testing.T) {
	hsLeakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := lnConfig("a1@127.0.0.1")
	l, err := Listen(ctx, cfg, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	addr := l.Addr().String()

	const flood = 1000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	reopened := 0
	for i := range flood {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				nc, err := net.Dial("tcp", addr)
				if err != nil {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						continue
					}
				}
				if i%2 == 1 {
					nc.Write([]byte{0, 0}) // slow: two bytes of a header, then nothing
				}
				closed := make(chan struct{})
				go func() {
					var b [1]byte
					nc.Read(b[:]) // returns when the listener closes it
					close(closed)
				}()
				select {
				case <-stop:
					nc.Close()
					<-closed
					return
				case <-closed:
					nc.Close()
					mu.Lock()
					reopened++
					mu.Unlock()
				}
			}
		}()
	}
	defer func() {
		close(stop)
		wg.Wait()
	}()
	// Let the flood take its slots.
	require.Eventually(t, func() bool { return l.Stats().Handshakes >= flood*9/10 }, 20*time.Second, 10*time.Millisecond)

	var worst time.Duration
	var took []time.Duration
	// Over 3 s, so that the flood's silent connections are closed (after
	// FirstByteTimeout) and reopened at least once meanwhile.
	for range 6 {
		d := lnDialLink(t, ctx, l, lnConfig("b@127.0.0.1"), cfg)
		took = append(took, d)
		worst = max(worst, d)
		time.Sleep(500 * time.Millisecond)
	}
	st := l.Stats()
	mu.Lock()
	t.Logf("link setups under the flood: %v; stats %+v; flood connections reopened %d", took, st, reopened)
	mu.Unlock()
	assert.Less(t, worst, time.Second, "a link setup (three handshakes) under an idle flood")
	assert.Positive(t, st.Refused["silent"], "silent connections were closed")
	assert.LessOrEqual(t, st.Handshakes, defaultMaxHandshakesPerAddr, "one address holds at most its share of handshakes")
	assert.LessOrEqual(t, st.Conns, cfg.admissionLimits().conns)

	// A hidden client (ctl) gets through as well.
	ctl := lnConfig("ctl@127.0.0.1")
	ctl.Hidden, ctl.Cluster = true, ""
	c, err := Dial(ctx, ctl, cfg.Name, addr)
	require.NoError(t, err)
	c.Close(0, "done")
	<-c.Done()
	sc, err := l.Accept(ctx)
	require.NoError(t, err)
	sc.Close(0, "done")
	<-sc.Done()
}

func TestListenClosesSilentConnections(t *testing.T) {
	hsLeakCheck(t)
	cfg := lnConfig("a1@127.0.0.1")
	cfg.FirstByteTimeout = 100 * time.Millisecond
	l, err := Listen(context.Background(), cfg, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	nc, err := net.Dial("tcp", l.Addr().String())
	require.NoError(t, err)
	defer nc.Close()
	start := time.Now()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b [1]byte
	_, err = nc.Read(b[:])
	require.Error(t, err, "the listener closes a connection that sends nothing")
	assert.Less(t, time.Since(start), cfg.handshakeTimeout(), "closed on the first-byte deadline, not the handshake's")
	require.Eventually(t, func() bool { return l.Stats().Refused["silent"] == 1 }, time.Second, 5*time.Millisecond)
	assert.Equal(t, 0, l.Stats().Conns)
}

func TestListenRateLimitsRefusalLogs(t *testing.T) {
	hsLeakCheck(t)
	logs := &testnet.SyncBuffer{}
	cfg := lnConfig("a1@127.0.0.1")
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l, err := Listen(context.Background(), cfg, "127.0.0.1:0")
	require.NoError(t, err)
	bad := lnConfig("b@127.0.0.1")
	bad.Cookie = "0123456789abcdef-wrong-cookie"
	const attempts = 40
	for range attempts {
		_, err := Dial(context.Background(), bad, cfg.Name, l.Addr().String())
		require.ErrorIs(t, err, ErrBadCookie)
	}
	require.Eventually(t, func() bool { return l.Stats().Refused["bad-cookie"] == attempts }, 2*time.Second, 5*time.Millisecond)
	require.NoError(t, l.Close())
	out := logs.String()
	assert.Equal(t, 2, strings.Count(out, "refused"), "one line at once, one summary at close:\n%s", out)
	assert.Contains(t, out, "refused connection from 127.0.0.1:")
	assert.Contains(t, out, fmt.Sprintf("refused %d connections in the last", attempts-1))
	assert.Contains(t, out, fmt.Sprintf("bad-cookie %d (last from 127.0.0.1:", attempts-1))
	assert.NotContains(t, out, "weak cookie")
}

func TestListenWarnsOnWeakCookie(t *testing.T) {
	hsLeakCheck(t)
	logs := &testnet.SyncBuffer{}
	cfg := lnConfig("a1@127.0.0.1")
	cfg.Cookie = "secret"
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	l, err := Listen(context.Background(), cfg, "127.0.0.1:0")
	require.NoError(t, err)
	l.Close()
	out := logs.String()
	assert.Contains(t, out, "level=WARN")
	assert.Contains(t, out, "weak cookie")
	assert.Contains(t, out, "the cookie is 6 bytes long; use at least 16 random bytes")
	assert.Contains(t, out, "cookie_len=6")

	// The dialer, a ctl client among them, does not warn.
	logs2 := &testnet.SyncBuffer{}
	ctl := lnConfig("ctl@127.0.0.1")
	ctl.Cookie, ctl.Hidden = "secret", true
	ctl.Logger = slog.New(slog.NewTextHandler(logs2, nil))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ln.Close()
	_, err = Dial(context.Background(), ctl, cfg.Name, ln.Addr().String())
	require.Error(t, err)
	assert.NotContains(t, logs2.String(), "weak cookie")
}

// Lanes that authenticate but never complete their link are capped per
// peer name, and what the listener holds stays under MaxListenerConns.
func TestListenCapsIncompleteLinks(t *testing.T) {
	hsLeakCheck(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cfg := lnConfig("a1@127.0.0.1")
	cfg.MaxIncompleteLinksPerPeer = 2
	cfg.MaxListenerConns = 8
	l, err := Listen(ctx, cfg, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	d := lnConfig("b@127.0.0.1")
	// Ten links that each send only their control lane.
	var held []net.Conn
	defer func() {
		for _, nc := range held {
			nc.Close()
		}
	}()
	for i := range 10 {
		nc, err := dialTCP(ctx, d, l.Addr().String())
		require.NoError(t, err)
		held = append(held, nc)
		r := wire.NewReader(nc, d.maxPayload(), 0)
		_, err = clientHandshake(ctx, nc, r, d, cfg.Name, wire.LaneControl, uint64(i+1))
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return l.Stats().Refused["peer-link-limit"] == 8 }, 2*time.Second, 5*time.Millisecond)
	st := l.Stats()
	assert.Equal(t, 2, st.IncompleteLinks)
	assert.Equal(t, 2, st.Conns)
	// A complete link still gets through.
	lnDialLink(t, ctx, l, lnConfig("c@127.0.0.1"), cfg)
}
