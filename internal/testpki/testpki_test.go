package testpki_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ekka-mesh/ekka-mesh/internal/testpki"
)

// handshake runs a TLS handshake over loopback TCP and returns the client's
// and the server's error.
func handshake(t *testing.T, client, server *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		s := tls.Server(c, server)
		if err = s.Handshake(); err == nil {
			_, err = io.ReadFull(s, make([]byte, 1)) // the client's byte, sent after its checks
		}
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), client)
	if err == nil {
		_, err = c.Write([]byte{1})
		c.Close()
	}
	return err, <-done
}

func TestMutualTLS(t *testing.T) {
	ca, err := testpki.NewCA("test CA")
	require.NoError(t, err)
	leaf := testpki.Leaf{CommonName: "n", DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}
	server := testpki.Must(ca.Issue(leaf))
	client := testpki.Must(ca.Issue(leaf))
	assert.Equal(t, "n", server.TLS.Leaf.Subject.CommonName)
	assert.Equal(t, []string{"localhost"}, server.TLS.Leaf.DNSNames)

	srvConf := &tls.Config{Certificates: []tls.Certificate{server.TLS}, ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: ca.Pool()}
	for _, name := range []string{"localhost", "127.0.0.1"} {
		cErr, sErr := handshake(t, &tls.Config{ServerName: name, RootCAs: ca.Pool(), Certificates: []tls.Certificate{client.TLS}}, srvConf)
		require.NoError(t, cErr, name)
		require.NoError(t, sErr, name)
	}

	// Another CA's certificates are not trusted, either way.
	other := testpki.Must(testpki.Must(testpki.NewCA("other CA")).Issue(leaf))
	cErr, _ := handshake(t, &tls.Config{ServerName: "localhost", RootCAs: ca.Pool()}, &tls.Config{Certificates: []tls.Certificate{other.TLS}})
	assert.ErrorContains(t, cErr, "certificate signed by unknown authority")
	sendOther := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &other.TLS, nil } // though the server names its CA
	_, sErr := handshake(t, &tls.Config{ServerName: "localhost", RootCAs: ca.Pool(), GetClientCertificate: sendOther}, srvConf)
	assert.ErrorContains(t, sErr, "certificate signed by unknown authority")
}

func TestWriteFiles(t *testing.T) {
	dir := t.TempDir()
	ca := testpki.Must(testpki.NewCA("test CA"))
	node := testpki.Must(ca.Issue(testpki.Leaf{CommonName: "node"}))
	f, err := ca.WriteFiles(dir, "node", node)
	require.NoError(t, err)
	assert.Equal(t, testpki.Files{CA: filepath.Join(dir, "ca.pem"), Cert: filepath.Join(dir, "node.pem"), Key: filepath.Join(dir, "node-key.pem")}, f)
	got, err := tls.LoadX509KeyPair(f.Cert, f.Key)
	require.NoError(t, err)
	assert.Equal(t, node.TLS.Certificate, got.Certificate)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(testpki.Must(os.ReadFile(f.CA))))
	assert.True(t, pool.Equal(ca.Pool()))
}
