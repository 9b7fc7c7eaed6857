package conn

import (
	"context"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// A link whose lanes do not all arrive within twice the handshake step
// deadline is dropped with a Goodbye on each lane that did arrive: code
// timeout, and a reason naming the lanes that are missing (PROTOCOL.md
// section 2). A call sent early on the data lane gets no answer, but the
// goodbye still reaches the client before the connection closes.
func TestListenIncompleteLinkSaysGoodbye(t *testing.T) {
	hsLeakCheck(t)
	for _, c := range []struct {
		name    string
		lanes   []uint8
		missing string
	}{
		{"data only", []uint8{wire.LaneData}, "opened the data lane(s) but not control and large"},
		{"control and data", []uint8{wire.LaneControl, wire.LaneData}, "opened the control and data lane(s) but not large"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cfg := lnConfig("a1@127.0.0.1")
			cfg.HandshakeTimeout = 150 * time.Millisecond
			l, err := Listen(ctx, cfg, "127.0.0.1:0")
			require.NoError(t, err)
			defer l.Close()
			d := lnConfig("ctl@127.0.0.1")
			d.Hidden = true
			d.HandshakeTimeout = 5 * time.Second

			type lane struct {
				nc net.Conn
				r  *wire.Reader
			}
			var lanes []lane
			for _, ln := range c.lanes {
				nc, err := dialTCP(ctx, d, l.Addr().String())
				require.NoError(t, err)
				defer nc.Close()
				r := wire.NewReader(nc, d.maxPayload(), 0)
				_, err = clientHandshake(ctx, nc, r, d, cfg.Name, ln, 7)
				require.NoError(t, err)
				lanes = append(lanes, lane{nc, r})
				if ln == wire.LaneData {
					// A call the node will never serve: the link is not complete.
					call := wire.Call{TimeoutMillis: 1000, Method: []byte("$ekka.info")}
					_, err = nc.Write(wire.AppendMessage(nil, 0, 1, &call))
					require.NoError(t, err)
				}
			}
			for i, ln := range lanes {
				ln.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				h, body, err := ln.r.ReadFrame()
				require.NoError(t, err, "lane %d: want a goodbye before the connection closes", c.lanes[i])
				require.Equal(t, wire.TypeGoodbye, h.Type, "lane %d", c.lanes[i])
				var g wire.Reject
				g.T = wire.TypeGoodbye
				require.NoError(t, g.Decode(body))
				assert.Equal(t, wire.CodeTimeout, g.Code, "lane %d", c.lanes[i])
				assert.Contains(t, string(g.Reason), "link incomplete: node ctl@127.0.0.1 "+c.missing+" within 300ms")
				assert.Contains(t, string(g.Reason), "a link needs all three lanes (control, data, large)")
				_, _, err = ln.r.ReadFrame()
				assert.ErrorIs(t, err, io.EOF, "lane %d: the goodbye is the last frame", c.lanes[i])
			}
			assert.Equal(t, uint64(1), l.Stats().Refused["link-incomplete"])
			assert.Equal(t, 0, l.Stats().IncompleteLinks)
		})
	}
}
