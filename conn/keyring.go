package conn

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/ekka-mesh/ekka-mesh/wire"
)

// MaxPreviousCookies bounds the previous cookies a node accepts: each one
// costs a proof computation on every failed handshake and a derived key.
const MaxPreviousCookies = 8

// maxCookieLen is the longest cookie accepted, in bytes.
const maxCookieLen = 1024

// Keyring holds the cookies of a node whose cookie changes while it runs:
// the current one, which it offers when it dials, and the previous ones it
// still accepts (wire/PROTOCOL.md section 8.4). Set replaces them; links
// already up are not touched, the next handshake uses the new set. The
// proof keys are derived by Set, once per cookie, never per handshake.
type Keyring struct {
	cluster string
	set     atomic.Pointer[cookieSet]
}

// cookieSet is one immutable generation of a node's cookies.
type cookieSet struct {
	cookies []string // [0] is the current cookie, then the previous ones
	cluster string   // the cluster keys were derived for
	keys    []*[wire.KeySize]byte
}

// NewKeyring returns a Keyring for a node of cluster, holding current and
// previous, with their keys derived.
func NewKeyring(ctx context.Context, cluster, current string, previous ...string) (*Keyring, error) {
	k := &Keyring{cluster: cluster}
	if err := k.Set(ctx, current, previous...); err != nil {
		return nil, err
	}
	return k, nil
}

// Set makes current the cookie this node offers and accepts, and previous
// the cookies it still accepts. It derives the new keys first (tens of
// milliseconds per cookie not derived before) and returns ctx's error,
// changing nothing, if ctx ends first. Its errors are not prefixed: the
// caller names the node.
func (k *Keyring) Set(ctx context.Context, current string, previous ...string) error {
	if err := CheckCookies(current, previous); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cookies := append([]string{current}, previous...)
	done := make(chan *cookieSet, 1)
	go func() { done <- deriveSet(cookies, k.cluster) }()
	select {
	case s := <-done:
		k.set.Store(s)
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Cookies returns the current cookie and the previous ones.
func (k *Keyring) Cookies() (current string, previous []string) {
	s := k.set.Load()
	return s.cookies[0], append([]string(nil), s.cookies[1:]...)
}

// CheckCookies validates a current cookie and the previous ones, naming
// what is wrong: none may be empty or longer than 1024 bytes, no cookie may
// appear twice, and at most MaxPreviousCookies previous ones.
func CheckCookies(current string, previous []string) error {
	if current == "" {
		return errors.New("cookie is empty, want the cluster's shared secret")
	}
	if len(previous) > MaxPreviousCookies {
		return fmt.Errorf("%d previous cookies, want at most %d", len(previous), MaxPreviousCookies)
	}
	seen := map[string]bool{}
	for i, c := range append([]string{current}, previous...) {
		what := "the cookie"
		if i > 0 {
			what = fmt.Sprintf("previous cookie %d", i)
		}
		switch {
		case c == "":
			return fmt.Errorf("%s is empty, want a shared secret", what)
		case len(c) > maxCookieLen:
			return fmt.Errorf("%s is %d bytes long, want at most %d", what, len(c), maxCookieLen)
		case seen[c]:
			return fmt.Errorf("%s repeats an earlier cookie, want each cookie once", what)
		}
		seen[c] = true
	}
	return nil
}

// CookieWeakness says what is weak about cookie ("" when nothing is): the
// text of the warning Listen logs, for callers that set cookies later.
func CookieWeakness(cookie string) string { return cookieWeakness(cookie) }

func deriveSet(cookies []string, cluster string) *cookieSet {
	s := &cookieSet{cookies: cookies, cluster: cluster, keys: make([]*[wire.KeySize]byte, len(cookies))}
	for i, c := range cookies {
		s.keys[i] = cookieKey(c, cluster)
	}
	return s
}

// key returns the proof key of cookie i for the acceptor's cluster: the
// one derived in advance, or (for a hidden client that learns the cluster
// from the Challenge) the cached derivation.
func (s *cookieSet) key(i int, cluster string) *[wire.KeySize]byte {
	if s.keys != nil && cluster == s.cluster {
		return s.keys[i]
	}
	return cookieKey(s.cookies[i], cluster)
}

// cookies returns the cookie set a handshake uses: the Keyring's when there
// is one, else Cookie and CookiePrevious.
func (c *Config) cookies() *cookieSet {
	if c.Keyring != nil {
		return c.Keyring.set.Load()
	}
	return &cookieSet{cookies: append([]string{c.Cookie}, c.CookiePrevious...)}
}
