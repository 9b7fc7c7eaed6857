package mesh

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stubLookup replaces the resolver for one test.
func stubLookup(t *testing.T, f func(ctx context.Context, host string) ([]string, error)) {
	t.Helper()
	old := lookupHost
	lookupHost = f
	t.Cleanup(func() { lookupHost = old })
}

func resolveConfig(name string) Config {
	cfg := DefaultConfig()
	cfg.Name, cfg.Cookie, cfg.Cluster = name, "resolve-test-cookie", "resolve"
	cfg.ListenAddr = "127.0.0.1:0"
	return cfg
}

func TestStartRefusesAHostThatDoesNotResolve(t *testing.T) {
	var asked []string
	stubLookup(t, func(ctx context.Context, host string) ([]string, error) {
		asked = append(asked, host)
		_, ok := ctx.Deadline()
		assert.True(t, ok, "the lookup has no deadline")
		return nil, errors.New("lookup " + host + ": no such host")
	})
	n, err := Start(context.Background(), resolveConfig("n1@no-such-host.invalid"))
	if err == nil {
		n.Stop(context.Background())
	}
	require.Error(t, err, "a node whose host does not resolve started")
	for _, want := range []string{"n1@no-such-host.invalid", "node.name", `host "no-such-host.invalid" does not resolve`,
		"no such host", "want an IP address or a host name this machine resolves"} {
		assert.ErrorContains(t, err, want, "error %q does not say %q", err, want)
	}
	assert.Equal(t, []string{"no-such-host.invalid"}, asked, "looked up %q, want the name's host once", asked)
}

func TestStartResolveCheckRespectsContext(t *testing.T) {
	stubLookup(t, func(ctx context.Context, host string) ([]string, error) {
		<-ctx.Done() // a resolver that never answers
		return nil, ctx.Err()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := Start(ctx, resolveConfig("n1@slow.example"))
	require.ErrorContains(t, err, `start abandoned while resolving its host "slow.example"`,
		"Start with a context ending during the lookup: %v, want abandoned with the context's cause", err)
	require.ErrorIs(t, err, context.DeadlineExceeded,
		"Start with a context ending during the lookup: %v, want abandoned with the context's cause", err)
}

func TestStartHostThatResolves(t *testing.T) {
	stubLookup(t, func(ctx context.Context, host string) ([]string, error) {
		assert.Equal(t, "node1.example", host, "looked up %q", host)
		return []string{"127.0.0.1"}, nil
	})
	n, err := Start(context.Background(), resolveConfig("n1@node1.example"))
	require.NoError(t, err)
	require.NoError(t, n.Stop(context.Background()))
	// An IP address and a Config.Resolve are not looked up.
	stubLookup(t, func(ctx context.Context, host string) ([]string, error) {
		t.Errorf("looked up %q", host)
		return nil, errors.New("no")
	})
	for _, cfg := range []Config{resolveConfig("n1@127.0.0.1"), func() Config {
		c := resolveConfig("n1@only-the-app-knows.test")
		c.Resolve = func(string) (string, error) { return "127.0.0.1:1", nil }
		return c
	}()} {
		n, err := Start(context.Background(), cfg)
		require.NoError(t, err, cfg.Name)
		require.NoError(t, n.Stop(context.Background()))
	}
}
