package mesh

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/ekka-mesh/ekka-mesh/conn"
	"github.com/ekka-mesh/ekka-mesh/discovery"
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
// A discovery strategy that signs with the cookie (discovery.Keyed, such
// as mcast) gets the same cookies.
//
// A rolling rotation from cookie O to N: SetCookie(ctx, N, O) on every node
// in turn, then SetCookie(ctx, N) on every node (wire/PROTOCOL.md section
// 8.4).
func (n *Node) SetCookie(ctx context.Context, current string, previous ...string) error {
	if err := n.ccfg.Keyring.Set(ctx, current, previous...); err != nil {
		return fmt.Errorf("mesh: node %s: set cookie: %w", n.cfg.Name, err)
	}
	if k, ok := n.cfg.Discovery.(discovery.Keyed); ok {
		// The cookies passed the keyring's checks, which are the strategy's.
		if err := k.SetCookie(current, previous...); err != nil {
			return fmt.Errorf("mesh: node %s: set cookie: the node changed it, but its discovery did not: %w", n.cfg.Name, err)
		}
	}
	if weak := conn.CookieWeakness(current); weak != "" {
		n.log.Warn("weak cookie: anyone who records one plaintext handshake can guess it offline; "+weak, "cookie_len", len(current))
	}
	n.log.Info("cookie changed", "previous_cookies", len(previous))
	return nil
}

// MethodRotateCookie is the built-in method behind ekka-mesh ctl
// rotate-cookie: a RotateCookieRequest makes its cookie the node's current
// one (SetCookie; an admin action, logged without the cookie). The new
// cookie travels inside the caller's link, which the old cookie
// authenticated; the reply is a RotateCookieReply.
const MethodRotateCookie = reservedPrefix + "rotate_cookie"

// RotateCookieRequest is MethodRotateCookie's request.
type RotateCookieRequest struct {
	Cookie string `json:"cookie"` // the new current cookie
	// KeepPrevious keeps the node's current cookie, then its previous ones
	// (at most 8 in all), as previous cookies; false drops them all.
	KeepPrevious bool `json:"keep_previous,omitempty"`
}

// RotateCookieReply is MethodRotateCookie's reply: the node and how many
// previous cookies it now accepts (never the cookies).
type RotateCookieReply struct {
	Node     string `json:"node"`
	Previous int    `json:"previous"`
}

func (n *Node) registerCookieBuiltin() {
	n.handlers.set(MethodRotateCookie, func(ctx context.Context, from string, p []byte) ([]byte, error) {
		var req RotateCookieRequest
		if err := json.Unmarshal(p, &req); err != nil {
			return nil, fmt.Errorf("bad request: %v (want a JSON object with \"cookie\")", err)
		}
		var previous []string
		if req.KeepPrevious {
			cur, prev := n.ccfg.Keyring.Cookies()
			for _, c := range append([]string{cur}, prev...) {
				if c != req.Cookie && len(previous) < conn.MaxPreviousCookies {
					previous = append(previous, c)
				}
			}
		}
		err := n.SetCookie(ctx, req.Cookie, previous...)
		LogAdminAction(ctx, n.log, from, "rotate-cookie", outcome(err), "previous_cookies", len(previous), "err", err)
		if err != nil {
			return nil, err
		}
		return json.Marshal(RotateCookieReply{Node: n.cfg.Name, Previous: len(previous)})
	})
}
