package conn

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
)

// tlsTestPKI is a throwaway CA with a server and a client certificate for
// 127.0.0.1.
type tlsTestPKI struct {
	pool           *x509.CertPool
	server, client tls.Certificate
}

func newTLSTestPKI(t *testing.T, cn string) *tlsTestPKI {
	t.Helper()
	ca, err := testpki.NewCA(cn)
	require.NoError(t, err)
	leaf := func(name string) tls.Certificate {
		c, err := ca.Issue(testpki.Leaf{CommonName: name, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
		require.NoError(t, err)
		return c.TLS
	}
	return &tlsTestPKI{pool: ca.Pool(), server: leaf("b@127.0.0.1"), client: leaf("a@127.0.0.1")}
}

// configs returns dialer and acceptor configs using TLS from this PKI.
func (p *tlsTestPKI) configs(mutual, clientCert bool) (dialer, acceptor *Config) {
	dialer = hsConfig("a@127.0.0.1", 1)
	acceptor = hsConfig("b@127.0.0.1", 2)
	acceptor.TLS = &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
	if mutual {
		acceptor.TLS.ClientAuth = tls.RequireAndVerifyClientCert
		acceptor.TLS.ClientCAs = p.pool
	}
	dialer.TLS = &tls.Config{RootCAs: p.pool, MinVersion: tls.VersionTLS12} // ServerName comes from the address
	if clientCert {
		dialer.TLS.Certificates = []tls.Certificate{p.client}
	}
	return dialer, acceptor
}

func TestTLSServerAuthOnly(t *testing.T) {
	hsLeakCheck(t)
	d, a := newTLSTestPKI(t, "test CA").configs(false, false)
	client, server := hsRun(t, d, a, a.Name)
	require.NoError(t, client.err)
	require.NoError(t, server.err)
	assert.Equal(t, a.Name, client.peer.Name)
	assert.Equal(t, d.Name, server.peer.Name)
	assert.Empty(t, d.TLS.ServerName, "dialTCP must not modify the caller's tls.Config")
}

func TestTLSMutual(t *testing.T) {
	hsLeakCheck(t)
	d, a := newTLSTestPKI(t, "test CA").configs(true, true)
	client, server := hsRun(t, d, a, a.Name)
	require.NoError(t, client.err)
	require.NoError(t, server.err)
	assert.Equal(t, a.GUID, client.peer.GUID)
	assert.Equal(t, d.GUID, server.peer.GUID)
}

func TestTLSMutualWithoutClientCert(t *testing.T) {
	hsLeakCheck(t)
	d, a := newTLSTestPKI(t, "test CA").configs(true, false)
	client, server := hsRun(t, d, a, a.Name)
	t.Logf("acceptor: %v", server.err)
	t.Logf("dialer: %v", client.err)
	require.Error(t, server.err)
	assert.Contains(t, server.err.Error(), "TLS handshake with 127.0.0.1:")
	assert.Contains(t, server.err.Error(), "certificate")
	// With TLS 1.3 the client learns of the refusal on its first read, inside
	// the node handshake; with TLS 1.2 during dialTCP. Either way it says so.
	require.Error(t, client.err)
	assert.Contains(t, client.err.Error(), "certificate")
}

func TestTLSUntrustedServer(t *testing.T) {
	hsLeakCheck(t)
	d, _ := newTLSTestPKI(t, "dialer's CA").configs(false, false)
	_, a := newTLSTestPKI(t, "another CA").configs(false, false)
	client, server := hsRun(t, d, a, a.Name)
	require.Error(t, client.err)
	assert.Contains(t, client.err.Error(), "TLS handshake with 127.0.0.1:")
	assert.Contains(t, client.err.Error(), "certificate")
	require.Error(t, server.err)
}

func TestTLSWrongCookie(t *testing.T) {
	hsLeakCheck(t)
	d, a := newTLSTestPKI(t, "test CA").configs(true, true)
	a.Cookie = "another-cookie"
	client, server := hsRun(t, d, a, a.Name)
	require.ErrorIs(t, client.err, ErrBadCookie, "TLS does not replace the cookie")
	require.ErrorIs(t, server.err, ErrBadCookie)
	assert.True(t, hsHandshakeError(t, client.err).Remote)
}
