package mesh

import (
	"context"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/conn"
)

// SetCookie changes the node's cookies while it runs: from now on it offers
// current when it dials (trying previous when a node refuses current) and
// accepts current and previous (at most 8) from a dialer. Links already up
// stay up; the next handshake uses the new cookies. The cookies are checked
// like Config.Cookie and CookiePrevious, and a weak current cookie is
// logged as at start. SetCookie derives the keys of cookies it has not seen
// (tens of milliseconds each) before anything changes, and changes nothing
// if ctx ends first.
//
// A rolling rotation from cookie O to N: SetCookie(ctx, N, O) on every node
// in turn, then SetCookie(ctx, N) on every node (wire/PROTOCOL.md section
// 8.4).
func (n *Node) SetCookie(ctx context.Context, current string, previous ...string) error {
	if err := n.ccfg.Keyring.Set(ctx, current, previous...); err != nil {
		return fmt.Errorf("mesh: node %s: set cookie: %w", n.cfg.Name, err)
	}
	if weak := conn.CookieWeakness(current); weak != "" {
		n.log.Warn("weak cookie: anyone who records one plaintext handshake can guess it offline; "+weak, "cookie_len", len(current))
	}
	n.log.Info("cookie changed", "previous_cookies", len(previous))
	return nil
}
