package conn

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	krOld = "old-cookie-0123456789abcdef"
	krNew = "new-cookie-fedcba9876543210"
)

func TestHandshakeAcceptsPreviousCookie(t *testing.T) {
	hsLeakCheck(t)
	a := hsConfig("a@127.0.0.1", 1)
	a.Cookie, a.CookiePrevious = krNew, []string{krOld}
	d := hsConfig("d@127.0.0.1", 2)
	d.Cookie = krOld
	client, server := hsRun(t, d, a, a.Name)
	require.NoError(t, server.err, "the acceptor accepts a previous cookie")
	require.NoError(t, client.err, "a dialer with only the old cookie verifies the Welcome")
	require.Equal(t, a.Name, client.peer.Name)

	d.Cookie = krNew
	client, server = hsRun(t, d, a, a.Name)
	require.NoError(t, server.err, "the current cookie")
	require.NoError(t, client.err)
}

func TestHandshakeRejectsUnknownCookieWithPrevious(t *testing.T) {
	hsLeakCheck(t)
	a := hsConfig("a@127.0.0.1", 1)
	a.Cookie, a.CookiePrevious = krNew, []string{krOld}
	d := hsConfig("d@127.0.0.1", 2)
	d.Cookie = "another-cookie-0123456789"
	client, server := hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrBadCookie)
	require.ErrorIs(t, server.err, ErrBadCookie)
}

// A dialer whose cookie was rotated reaches a node that has only the old
// cookie: refused with the current one, it tries the previous one.
func TestDialFallsBackToPreviousCookie(t *testing.T) {
	hsLeakCheck(t)
	b := testConfig("b@127.0.0.1")
	b.Cookie = krOld
	a := testConfig("a@127.0.0.1")
	a.Cookie, a.CookiePrevious = krNew, []string{krOld}
	sa, sb := linkPair(t, a, b)
	require.Equal(t, b.Name, sa.c.Peer().Name)
	require.Equal(t, a.Name, sb.c.Peer().Name)
}

func TestKeyringChangesCookiesOfARunningListener(t *testing.T) {
	hsLeakCheck(t)
	var wg sync.WaitGroup
	defer wg.Wait() // after cancel and l.Close below
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	b := testConfig("b@127.0.0.1")
	kr, err := NewKeyring(ctx, b.Cluster, krOld)
	require.NoError(t, err)
	b.Cookie, b.Keyring = "", kr
	l, err := Listen(ctx, b, "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	wg.Go(func() {
		for {
			c, err := l.Accept(ctx)
			if err != nil {
				return
			}
			// The dialer closes the link once Dial returned. Closing it
			// here at once raced the dialer's last step (opening the
			// control stream), which then failed with EOF.
			wg.Go(func() {
				select {
				case <-c.Closed():
				case <-ctx.Done():
				}
				c.Close(0, "test")
			})
		}
	})
	dial := func(cookie string) error {
		d := testConfig("d@127.0.0.1")
		d.Cookie = cookie
		c, err := Dial(ctx, d, b.Name, l.Addr().String())
		if err == nil {
			c.Close(0, "test")
		}
		return err
	}
	require.ErrorIs(t, dial(krNew), ErrBadCookie, "before the rotation")
	require.NoError(t, dial(krOld))

	require.NoError(t, kr.Set(ctx, krNew, krOld))
	require.NoError(t, dial(krNew), "the new cookie, once set")
	require.NoError(t, dial(krOld), "the previous cookie, still accepted")
	cur, prev := kr.Cookies()
	require.Equal(t, krNew, cur)
	require.Equal(t, []string{krOld}, prev)

	require.NoError(t, kr.Set(ctx, krNew))
	require.ErrorIs(t, dial(krOld), ErrBadCookie, "the old cookie, once dropped")
	require.NoError(t, dial(krNew))
}

func TestCheckCookies(t *testing.T) {
	for _, tc := range []struct {
		current  string
		previous []string
		want     string
	}{
		{"", nil, "cookie is empty"},
		{"a", []string{""}, "previous cookie 1 is empty"},
		{"a", []string{"a"}, "previous cookie 1 repeats"},
		{strings.Repeat("x", 1025), nil, "1025 bytes long, want at most 1024"},
		{"a", make([]string, MaxPreviousCookies+1), "previous cookies, want at most"},
	} {
		require.ErrorContains(t, CheckCookies(tc.current, tc.previous), tc.want)
	}
	require.NoError(t, CheckCookies("a", []string{"b", "c"}))

	cfg := testConfig("a@127.0.0.1")
	cfg.CookiePrevious = []string{cfg.Cookie}
	require.ErrorContains(t, cfg.Validate(), "conn config: previous cookie 1 repeats")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	kr, err := NewKeyring(context.Background(), "test", krOld)
	require.NoError(t, err)
	require.ErrorIs(t, kr.Set(ctx, "never-derived-cookie-0123456789"), context.Canceled)
	cur, _ := kr.Cookies()
	require.Equal(t, krOld, cur, "a cancelled Set changes nothing")
}
